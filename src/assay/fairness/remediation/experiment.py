"""Former location of the MinDiff experiment, kept so old imports and
``python -m assay.fairness.remediation.experiment`` work: use
:mod:`assay.apps.mindiff_experiment` (``python -m assay.apps.mindiff_experiment``)."""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    from ...apps import mindiff_experiment

    warnings.warn(
        "assay.fairness.remediation.experiment moved to assay.apps.mindiff_experiment; "
        "import it from there.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(mindiff_experiment, name)


if __name__ == "__main__":  # pragma: no cover - forwards the documented command
    from ...apps.mindiff_experiment import main

    main()
