"""Pure metric functions on finalized counts.

All functions are vectorized: leading axes are arbitrary (slices, replicates) as long as
the documented trailing axes are respected. A zero denominator gives NaN, never 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

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


def safe_div(num: F64, den: F64) -> F64:
    """``num / den`` with NaN where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


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


def roc_auc_from_counts(pos: F64, neg: F64, axis: int = -1) -> F64:
    """ROC AUC from label counts per score level, levels in ascending score order.

    Ties (rows in the same level) count one half, as in the Mann-Whitney statistic and
    scikit-learn's ``roc_auc_score``: AUC = sum_b P_b (N_{<b} + N_b / 2) / (P N).
    Weighted counts give the weighted AUC.
    """
    pos = np.moveaxis(np.asarray(pos, dtype=np.float64), axis, -1)
    neg = np.moveaxis(np.asarray(neg, dtype=np.float64), axis, -1)
    neg_below = np.cumsum(neg, axis=-1) - neg
    num = (pos * (neg_below + 0.5 * neg)).sum(axis=-1)
    return safe_div(num, pos.sum(axis=-1) * neg.sum(axis=-1))


def average_precision_from_counts(pos: F64, neg: F64, axis: int = -1) -> F64:
    """Average precision (PR AUC, no interpolation) from counts per ascending score level.

    AP = sum_k (R_k - R_{k-1}) P_k over score levels taken as thresholds from the top,
    the definition of scikit-learn's ``average_precision_score``.
    """
    pos = np.moveaxis(np.asarray(pos, dtype=np.float64), axis, -1)[..., ::-1]
    neg = np.moveaxis(np.asarray(neg, dtype=np.float64), axis, -1)[..., ::-1]
    tp = np.cumsum(pos, axis=-1)
    fp = np.cumsum(neg, axis=-1)
    prec = safe_div(tp, tp + fp)
    contrib = np.where(pos > 0, pos * np.nan_to_num(prec), 0.0)
    return safe_div(contrib.sum(axis=-1), pos.sum(axis=-1))


def roc_auc_error_bound(pos: F64, neg: F64, mixed: NDArray[np.bool_]) -> F64:
    """Largest possible |binned AUC - exact AUC| when ``mixed`` levels hold several scores.

    Inside a level that holds more than one distinct score, the binned AUC counts every
    positive-negative pair as a tie (1/2) where the exact value is 0 or 1, so the error is at
    most sum_{b mixed} P_b N_b / (2 P N).
    """
    num = 0.5 * (np.where(mixed, pos * neg, 0.0)).sum(axis=-1)
    return safe_div(num, pos.sum(axis=-1) * neg.sum(axis=-1))


def average_precision_error_bound(pos: F64, neg: F64, mixed: NDArray[np.bool_]) -> F64:
    """Largest possible |binned AP - exact AP| when ``mixed`` levels hold several scores.

    Within a mixed level the precision seen at each positive lies between
    TP_a / (TP_a + FP_a + N_b) and (TP_a + P_b) / (TP_a + P_b + FP_a), where TP_a, FP_a are
    the counts above the level; the level's recall share P_b / P bounds its contribution.
    """
    pos_d = pos[..., ::-1]
    neg_d = neg[..., ::-1]
    mixed_d = mixed[..., ::-1]
    tp_above = np.cumsum(pos_d, axis=-1) - pos_d
    fp_above = np.cumsum(neg_d, axis=-1) - neg_d
    hi = safe_div(tp_above + pos_d, tp_above + pos_d + fp_above)
    lo_den = tp_above + fp_above + neg_d
    lo = np.where(lo_den > 0, safe_div(tp_above, lo_den), 1.0)
    spread = np.nan_to_num(hi - lo)
    num = np.where(mixed_d & (pos_d > 0), pos_d * spread, 0.0).sum(axis=-1)
    return safe_div(num, pos.sum(axis=-1))


def expected_calibration_error(w: F64, ws: F64, wy: F64) -> F64:
    """ECE from per-bin sums (trailing axis = calibration bins).

    ECE = sum_b (W_b / W) |mean score_b - mean label_b| = sum_b |S_b - Y_b| / W, with
    W_b the weight, S_b the weighted score sum and Y_b the weighted label sum of bin b.
    """
    return safe_div(np.abs(ws - wy).sum(axis=-1), w.sum(axis=-1))
