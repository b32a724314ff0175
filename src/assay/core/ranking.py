"""Pure ranking-metric functions on label counts per score level.

The first five functions are numerically identical copies of those in
:mod:`assay.evaluation.metrics` (``core`` must not import ``evaluation``); keep them in
step. The last two compute the Jigsaw bias AUCs (BPSN, BNSP) of a slice against its
background when the slice is held *compressed*: only the score levels where the slice has
weight, plus the background weight that lies strictly between consecutive such levels.
That makes a slice with ``k`` occupied levels cost ``O(k)`` per replicate instead of
``O(levels)``, with the same value as the full computation up to summation order.

All functions are vectorized over leading axes; the trailing axis is the score level in
ascending score order. A zero denominator gives NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


def safe_div(num: F64, den: F64) -> F64:
    """``num / den`` with NaN where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def roc_auc_from_counts(pos: F64, neg: F64, axis: int = -1) -> F64:
    """ROC AUC from label counts per ascending score level, ties counting one half.

    AUC = sum_b P_b (N_{<b} + N_b / 2) / (P N), as ``metrics.roc_auc_from_counts``.
    """
    pos = np.moveaxis(np.asarray(pos, dtype=np.float64), axis, -1)
    neg = np.moveaxis(np.asarray(neg, dtype=np.float64), axis, -1)
    neg_below = np.cumsum(neg, axis=-1) - neg
    num = (pos * (neg_below + 0.5 * neg)).sum(axis=-1)
    return safe_div(num, pos.sum(axis=-1) * neg.sum(axis=-1))


def average_precision_from_counts(pos: F64, neg: F64, axis: int = -1) -> F64:
    """Average precision (no interpolation) from counts per ascending score level."""
    pos = np.moveaxis(np.asarray(pos, dtype=np.float64), axis, -1)[..., ::-1]
    neg = np.moveaxis(np.asarray(neg, dtype=np.float64), axis, -1)[..., ::-1]
    tp = np.cumsum(pos, axis=-1)
    fp = np.cumsum(neg, axis=-1)
    prec = safe_div(tp, tp + fp)
    contrib = np.where(pos > 0, pos * np.nan_to_num(prec), 0.0)
    return safe_div(contrib.sum(axis=-1), pos.sum(axis=-1))


def roc_auc_error_bound(pos: F64, neg: F64, mixed: NDArray[np.bool_]) -> F64:
    """Largest possible |binned AUC - exact AUC|: sum_{b mixed} P_b N_b / (2 P N)."""
    num = 0.5 * (np.where(mixed, pos * neg, 0.0)).sum(axis=-1)
    return safe_div(num, pos.sum(axis=-1) * neg.sum(axis=-1))


def average_precision_error_bound(pos: F64, neg: F64, mixed: NDArray[np.bool_]) -> F64:
    """Largest possible |binned AP - exact AP| when ``mixed`` levels hold several scores."""
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


def bpsn_from_levels(
    neg: F64,
    bg_pos: F64,
    gaps: F64 | None,
    before: F64 | None,
    mixed: NDArray[np.bool_],
) -> tuple[F64, F64]:
    """BPSN AUC (background positives vs slice negatives) from compressed levels.

    ``neg[..., j]`` are the slice's negatives and ``bg_pos[..., j]`` the background
    positives at the slice's ``j``-th occupied level (ascending); ``gaps[..., j]`` the
    background positives strictly between level ``j`` and level ``j+1`` (after the last
    level: up to the top), ``before[...]`` those below the first level. ``gaps`` / ``before``
    may be None when the levels are all the score levels (nothing in between). ``mixed``
    marks the levels holding several distinct scores (for the error bound).

    Equals ``roc_auc_from_counts(bg_pos_full, neg_full)`` on the full levels: the slice has
    no negatives inside a gap, so a gap's positives all see the same negatives below them.
    Returns the AUC ``(...)`` and the error bound of the first entry of the leading axis
    (the point estimate), as ``roc_auc_error_bound(bg_pos_full[0], neg_full[0], mixed)``.
    """
    neg_cum = np.cumsum(neg, axis=-1)
    neg_below = neg_cum - neg
    num = (bg_pos * (neg_below + 0.5 * neg)).sum(axis=-1)
    pos_total = bg_pos.sum(axis=-1)
    if gaps is not None:
        num = num + (gaps * neg_cum).sum(axis=-1)
        pos_total = pos_total + gaps.sum(axis=-1)
    if before is not None:
        pos_total = pos_total + before
    den = pos_total * neg.sum(axis=-1)
    auc = safe_div(num, den)
    bnum = 0.5 * np.where(mixed, bg_pos[0] * neg[0], 0.0).sum(axis=-1)
    return auc, safe_div(bnum, den[0])


def bnsp_from_levels(
    pos: F64,
    bg_neg: F64,
    gaps: F64 | None,
    before: F64 | None,
    mixed: NDArray[np.bool_],
) -> tuple[F64, F64]:
    """BNSP AUC (slice positives vs background negatives) from compressed levels.

    Same layout as :func:`bpsn_from_levels` with the labels swapped: ``pos`` the slice's
    positives per occupied level, ``bg_neg`` the background negatives there, ``gaps`` /
    ``before`` the background negatives between / below the occupied levels. Equals
    ``roc_auc_from_counts(pos_full, bg_neg_full)``.
    """
    step = bg_neg if gaps is None else bg_neg + gaps
    neg_below = np.cumsum(step, axis=-1) - step
    if before is not None:
        neg_below = neg_below + before[..., None]
    num = (pos * (neg_below + 0.5 * bg_neg)).sum(axis=-1)
    neg_total = step.sum(axis=-1)
    if before is not None:
        neg_total = neg_total + before
    den = pos.sum(axis=-1) * neg_total
    auc = safe_div(num, den)
    bnum = 0.5 * np.where(mixed, pos[0] * bg_neg[0], 0.0).sum(axis=-1)
    return auc, safe_div(bnum, den[0])
