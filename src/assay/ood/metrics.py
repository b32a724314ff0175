"""OOD detection metrics of one in/out pair, with the formulas of the ``ood`` metric family.

Convention: OOD is the positive class; scores are outlier scores (larger = more OOD).
For per-slice values with intervals, use ``assay.evaluate(..., task="ood")`` (label 1 =
OOD), which runs the same formulas; :func:`ood_frame` builds its input table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..evaluation.families.ood import OOD_METRICS, level_counts, ood_metrics_from_counts
from ._common import as_float_array

__all__ = ["OOD_METRICS", "ood_frame", "ood_metrics"]


def _scores(x: Any, name: str) -> np.ndarray:
    a = as_float_array(x, name, func="ood_metrics", ndim=(1, 2))
    if a.ndim == 2:
        if a.shape[1] != 1:
            raise ValueError(
                f"The {name!r} parameter of ood_metrics must be one score per example "
                f"(a 1-d array). Got shape {a.shape} instead."
            )
        a = a[:, 0]
    return a


def ood_metrics(in_scores: Any, out_scores: Any) -> dict[str, float]:
    """AUROC, AUPR-in, AUPR-out, FPR at 95% and 80% TPR and detection accuracy.

    Parameters
    ----------
    in_scores, out_scores : 1-d arrays (NumPy or tensors)
        Outlier scores of in-distribution and of out-of-distribution examples (larger =
        more OOD).

    Returns
    -------
    dict
        ``auroc`` (OOD positive), ``aupr_in`` (in-distribution positive, negated scores),
        ``aupr_out`` (OOD positive), ``fpr_at_95_tpr`` and ``fpr_at_80_tpr`` (share of
        in-distribution examples flagged when at least 95% / 80% of the OOD examples are),
        ``detection_accuracy``, plus ``n_in`` and ``n_out``.

    >>> m = ood_metrics([0.1, 0.2, 0.3], [0.25, 0.9])
    >>> round(m["auroc"], 4)
    0.8333
    """
    s_in = _scores(in_scores, "in_scores")
    s_out = _scores(out_scores, "out_scores")
    s = np.concatenate([s_in, s_out])
    y = np.concatenate([np.zeros(s_in.size, bool), np.ones(s_out.size, bool)])
    pos, neg = level_counts(s, y)
    vals = ood_metrics_from_counts(pos, neg)
    out = {k: float(vals[k]) for k in OOD_METRICS}
    out["n_in"] = float(s_in.size)
    out["n_out"] = float(s_out.size)
    return out


def ood_frame(in_scores: Any, out_scores: Any, **columns: Any) -> dict[str, Any]:
    """A table for ``assay.evaluate(table, label="is_ood", scores="score", task="ood")``:
    ``score``, ``is_ood`` (1 for the out scores) and any extra per-row ``columns`` (for
    slices), each given as ``(values for in, values for out)``."""
    s_in = _scores(in_scores, "in_scores")
    s_out = _scores(out_scores, "out_scores")
    out: dict[str, Any] = {
        "score": np.concatenate([s_in, s_out]),
        "is_ood": np.concatenate([np.zeros(s_in.size, np.int8), np.ones(s_out.size, np.int8)]),
    }
    for name, pair in columns.items():
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(
                f"The {name!r} parameter of ood_frame must be a pair (values for the in "
                f"scores, values for the out scores). Got {type(pair).__name__} instead."
            )
        a, b = np.asarray(pair[0]), np.asarray(pair[1])
        if a.shape[0] != s_in.size or b.shape[0] != s_out.size:
            raise ValueError(
                f"The {name!r} parameter of ood_frame must have {s_in.size} and {s_out.size} "
                f"values. Got {a.shape[0]} and {b.shape[0]} instead."
            )
        out[name] = np.concatenate([a, b])
    return out
