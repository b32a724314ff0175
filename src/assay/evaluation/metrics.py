"""Pure metric functions on finalized counts.

All functions are vectorized: leading axes are arbitrary (slices, replicates) as long as
the documented trailing axes are respected. A zero denominator gives NaN, never 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..core.ranking import (
    average_precision_error_bound,
    average_precision_from_counts,
    roc_auc_error_bound,
    roc_auc_from_counts,
    safe_div,
)

F64 = NDArray[np.float64]

__all__ = [
    "THRESHOLD_METRICS", "average_precision_error_bound", "average_precision_from_counts",
    "confusion_at_thresholds", "expected_calibration_error", "roc_auc_error_bound",
    "roc_auc_from_counts", "safe_div", "threshold_metrics",
]  # fmt: skip

#: Metrics reported at each threshold, in report order.
THRESHOLD_METRICS: tuple[str, ...] = (
    "tp",
    "fp",
    "tn",
    "fn",
    "fpr",
    "fnr",
    "tpr",
    "tnr",
    "positive_rate",
    "negative_rate",
    "fdr",
    "false_omission_rate",
    "precision",
    "recall",
    "accuracy",
)


def confusion_at_thresholds(pos: F64, neg: F64) -> dict[str, F64]:
    """Confusion counts at each threshold from per-interval label counts.

    ``pos[..., i]`` / ``neg[..., i]`` hold the (weighted) positives / negatives whose score
    lies in interval ``i`` of the sorted thresholds ``t_0 < ... < t_{K-1}``: interval ``i``
    holds the scores with exactly ``i`` thresholds strictly below them. A row is predicted
    positive at threshold ``t_j`` when ``score > t_j``, i.e. when its interval is ``> j``.
    Returns arrays with trailing axis ``K`` (one entry per threshold).
    """
    # tail[..., j] = sum over intervals > j
    # Sum each count directly (not as a difference of totals), so that zero counts are
    # exactly zero with non-integer weights.
    tp = np.cumsum(pos[..., ::-1], axis=-1)[..., ::-1][..., 1:]
    fp = np.cumsum(neg[..., ::-1], axis=-1)[..., ::-1][..., 1:]
    fn = np.cumsum(pos, axis=-1)[..., :-1]
    tn = np.cumsum(neg, axis=-1)[..., :-1]
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


def threshold_metrics(tp: F64, fp: F64, tn: F64, fn: F64) -> dict[str, F64]:
    """The Fairness Indicators rates (plus accuracy) from confusion counts."""
    p = tp + fn
    n = fp + tn
    total = p + n
    pred_pos = tp + fp
    pred_neg = tn + fn
    return {
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "fpr": safe_div(fp, n),
        "fnr": safe_div(fn, p),
        "tpr": safe_div(tp, p),
        "tnr": safe_div(tn, n),
        "positive_rate": safe_div(pred_pos, total),
        "negative_rate": safe_div(pred_neg, total),
        "fdr": safe_div(fp, pred_pos),
        "false_omission_rate": safe_div(fn, pred_neg),
        "precision": safe_div(tp, pred_pos),
        "recall": safe_div(tp, p),
        "accuracy": safe_div(tp + tn, total),
    }


def expected_calibration_error(w: F64, ws: F64, wy: F64) -> F64:
    """ECE from per-bin sums (trailing axis = calibration bins).

    ECE = sum_b (W_b / W) |mean score_b - mean label_b| = sum_b |S_b - Y_b| / W, with
    W_b the weight, S_b the weighted score sum and Y_b the weighted label sum of bin b.
    """
    return safe_div(np.abs(ws - wy).sum(axis=-1), w.sum(axis=-1))
