"""Programs built on assay's public API, kept out of the library's core modules.

* :mod:`assay.apps.demo` -- the main job (``assay demo`` / ``make demo``): train a model on a
  real data set, find its fairness gap by slice with intervals, fix it with MinDiff, report.
* :mod:`assay.apps.mindiff_experiment` -- the MinDiff experiment on Adult and COMPAS
  (``python -m assay.apps.mindiff_experiment --dataset adult``), whose tables are in
  ``docs/mindiff.md``.

They use only public names of the other packages (``assay.evaluate``, ``assay.EvalResult``,
``assay.datasets``, ``assay.fairness.remediation``); nothing in the library imports them
except the command line, on demand. Both need PyTorch (``pip install 'assay[torch]'``);
importing this package imports neither.
"""

from __future__ import annotations

__all__: list[str] = []
