"""Pure ranking-metric functions on label counts per score level.

The first five functions are numerically identical copies of those in
:mod:`assay.evaluation.metrics` (``core`` must not import ``evaluation``); keep them in
step. :func:`level_metrics` computes all of them (and the Jigsaw bias AUCs, BPSN and BNSP, of
a slice against its background) in few passes, for slices held *compressed*: only the
score levels where the slice has weight, plus the background weight that lies strictly
between consecutive such levels. A slice with ``k`` occupied levels then costs ``O(k)``
per replicate instead of ``O(levels)``, with the same values as the full computation up
to summation order.

The copied functions are vectorized over leading axes, the trailing axis being the score
level in ascending score order; :func:`level_metrics` puts the levels first. A zero
denominator gives NaN.
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


def cumsum_levels(a: F64, reverse: bool = False) -> F64:
    """``np.cumsum(a, axis=0)`` (of ``a[::-1]`` with ``reverse``), bit for bit.

    Levels on the first axis: when the other axes are long, one vector addition per level
    (``np.cumsum`` is not vectorized across the other axes) is several times faster.
    """
    src = a[::-1] if reverse else a
    if a.shape[0] < 2 or a[0].size < 256:
        out: F64 = np.cumsum(src, axis=0)
        return out
    out = np.array(src, dtype=np.float64)
    for i in range(1, out.shape[0]):
        np.add(out[i - 1], out[i], out=out[i])
    return out


def _dot0(a: F64, b: F64) -> F64:
    """``(a * b).sum(axis=0)`` in one pass."""
    out: F64 = np.einsum("k...,k...->...", a, b)
    return out


def level_metrics(
    pos: F64,
    neg: F64,
    mixed: NDArray[np.bool_],
    background: tuple[F64, F64 | None, F64 | None, F64, F64 | None, F64 | None] | None = None,
) -> tuple[dict[str, F64], dict[str, F64]]:
    """ROC AUC, average precision and (with ``background``) the bias AUCs from levels.

    Layout *levels first*: ``pos`` / ``neg`` are ``(K, ..., R)`` label weights per score
    level (ascending) with the replicates last (index 0 the point estimate); ``mixed``
    ``(K, ...)`` marks the levels holding several distinct scores. The levels may be a
    slice's *occupied* levels only (levels where it has no weight contribute nothing to
    its own metrics). ``background`` is ``(bg_pos, gaps_pos, before_pos, bg_neg, gaps_neg,
    before_neg)``: the background weight at each level ``(K, ..., R)``, strictly between
    level ``j`` and ``j + 1`` (after the last level: up to the top) ``(K, ..., R)``, and
    below the first level ``(..., R)``; gaps and before may be None when the levels are all
    the score levels. The slice has no weight in a gap, so all background weight there
    sees the same slice weight below it: the values equal the full-level computations.

    Returns values ``metric -> (..., R)`` and bounds ``metric -> (...)`` (point only), the
    same as :func:`roc_auc_from_counts`, :func:`average_precision_from_counts`,
    :func:`roc_auc_error_bound` and :func:`average_precision_error_bound` on the full
    levels (BPSN: background positives vs slice negatives; BNSP: slice positives vs
    background negatives), up to the order of summation.
    """
    p_tot = pos.sum(axis=0)
    n_tot = neg.sum(axis=0)
    neg_cum = cumsum_levels(neg)
    below = neg_cum - neg  # negatives strictly below, plus half the ties
    below += 0.5 * neg
    vals: dict[str, F64] = {"roc_auc": safe_div(_dot0(pos, below), p_tot * n_tot)}
    tp = cumsum_levels(pos, reverse=True)
    fp = cumsum_levels(neg, reverse=True)
    fp += tp
    prec = np.zeros_like(tp)
    np.divide(tp, fp, out=prec, where=fp > 0)
    del tp, fp
    vals["pr_auc"] = safe_div(_dot0(pos[::-1], prec), p_tot)
    del prec
    p0, n0 = np.moveaxis(pos[..., 0], 0, -1), np.moveaxis(neg[..., 0], 0, -1)
    m0 = np.moveaxis(mixed, 0, -1)
    bounds = {
        "roc_auc": roc_auc_error_bound(p0, n0, m0),
        "pr_auc": average_precision_error_bound(p0, n0, m0),
    }
    if background is None:
        return vals, bounds
    bg_pos, gaps_pos, before_pos, bg_neg, gaps_neg, before_neg = background
    # BPSN: background positives vs slice negatives
    num = _dot0(bg_pos, below)
    bg_p_tot = bg_pos.sum(axis=0)
    if gaps_pos is not None:
        num += _dot0(gaps_pos, neg_cum)
        bg_p_tot += gaps_pos.sum(axis=0)
    if before_pos is not None:
        bg_p_tot += before_pos
    den = bg_p_tot * n_tot
    vals["bpsn_auc"] = safe_div(num, den)
    mix = np.where(mixed, bg_pos[..., 0] * neg[..., 0], 0.0)
    bounds["bpsn_auc"] = safe_div(0.5 * mix.sum(axis=0), den[..., 0])
    del below, neg_cum
    # BNSP: slice positives vs background negatives
    step = bg_neg if gaps_neg is None else bg_neg + gaps_neg
    bg_below = cumsum_levels(step)
    bg_below -= step
    bg_n_tot = step.sum(axis=0)
    if before_neg is not None:
        bg_below += before_neg
        bg_n_tot += before_neg
    bg_below += 0.5 * bg_neg
    den = p_tot * bg_n_tot
    vals["bnsp_auc"] = safe_div(_dot0(pos, bg_below), den)
    mix = np.where(mixed, pos[..., 0] * bg_neg[..., 0], 0.0)
    bounds["bnsp_auc"] = safe_div(0.5 * mix.sum(axis=0), den[..., 0])
    return vals, bounds
