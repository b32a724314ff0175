"""Out-of-distribution detection metrics per slice (``task="ood"``): AUROC, AUPR with OOD
and with in-distribution as the positive class, FPR at 95% and 80% TPR and detection
accuracy, with intervals.

Convention: the label is 1 for an out-of-distribution (OOD) example and 0 for an
in-distribution one; the score is an outlier score, **larger = more OOD**. OOD is the
positive class of AUROC, AUPR-out, the TPR (share of OOD examples flagged) and the FPR
(share of in-distribution examples flagged); AUPR-in ranks by the negated score with the
in-distribution examples as positives. An example is flagged at threshold ``t`` when its
score is ``>= t``; FPR at q TPR is the smallest FPR over the thresholds whose TPR is at
least q. Detection accuracy is ``max_t [TPR(t) + 1 - FPR(t)] / 2`` (equal priors, Liang et al.
2018).

State: the rows themselves (label, score, weight per head; merged by concatenation), so the
metrics are exact for any score range; memory is O(rows). :func:`ood_metrics_from_counts`
is the formula, shared with :func:`assay.ood.ood_metrics`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ...core.catalogue import MetricInfo
from ...core.family import (
    ArraySpec,
    Block,
    MetricFamily,
    RowArray,
    Task,
    register_family,
    register_task,
)
from ...core.replicates import Replication
from ...core.state import Chunk, StateView, stack_replicates
from .. import metrics as M

F64 = NDArray[np.float64]

OOD = register_task(
    Task(
        "ood", labels="binary", scores="numeric", thresholds=False,
        description="label 1 = out-of-distribution, 0 = in-distribution; score: larger = more "
        "out-of-distribution",
    )
)  # fmt: skip

_G = "Out-of-distribution detection"

#: Metric ids of the family, in display order.
OOD_METRICS: tuple[str, ...] = (
    "auroc", "aupr_in", "aupr_out", "fpr_at_95_tpr", "fpr_at_80_tpr", "detection_accuracy",
)  # fmt: skip


def _info(
    name: str,
    label: str,
    definition: str,
    better: Literal["higher", "lower"],
    default: bool = False,
    lower: float = 0.0,
) -> MetricInfo:
    return MetricInfo(
        name, label, definition, family="ood", group=_G, lower=lower, upper=1.0,
        better=better, default=default,
    )  # fmt: skip


def _reverse_cumsum(a: F64) -> F64:
    out: F64 = np.cumsum(a[..., ::-1], axis=-1)[..., ::-1]
    return out


def fpr_at_tpr_from_counts(pos: F64, neg: F64, tpr: float) -> F64:
    """Smallest FPR among the thresholds whose TPR is at least ``tpr``.

    ``pos`` / ``neg``: OOD and in-distribution weight per score level in ascending score
    order (trailing axis; leading axes are vectorized). Thresholds are the score levels
    (flag scores ``>=`` the level).
    """
    pos = np.asarray(pos, dtype=np.float64)
    neg = np.asarray(neg, dtype=np.float64)
    tp, fp = _reverse_cumsum(pos), _reverse_cumsum(neg)
    p_tot, n_tot = pos.sum(axis=-1, keepdims=True), neg.sum(axis=-1, keepdims=True)
    ok = tp >= tpr * p_tot * (1.0 - 1e-12)
    fpr = M.safe_div(fp, np.broadcast_to(n_tot, fp.shape))
    best = np.where(ok, fpr, np.inf).min(axis=-1)
    bad = (p_tot[..., 0] <= 0) | (n_tot[..., 0] <= 0)
    out: F64 = np.where(bad | ~np.isfinite(best), np.nan, best)
    return out


def ood_metrics_from_counts(pos: F64, neg: F64) -> dict[str, F64]:
    """All metrics of the family from OOD (``pos``) and in-distribution (``neg``) weight per
    ascending score level (trailing axis; leading axes such as replicates are vectorized).
    """
    pos = np.asarray(pos, dtype=np.float64)
    neg = np.asarray(neg, dtype=np.float64)
    tp, fp = _reverse_cumsum(pos), _reverse_cumsum(neg)
    p_tot, n_tot = pos.sum(axis=-1, keepdims=True), neg.sum(axis=-1, keepdims=True)
    tpr = M.safe_div(tp, np.broadcast_to(p_tot, tp.shape))
    fpr = M.safe_div(fp, np.broadcast_to(n_tot, fp.shape))
    acc = np.maximum(np.nanmax(0.5 * (tpr + 1.0 - fpr), axis=-1, initial=0.5), 0.5)
    bad = (p_tot[..., 0] <= 0) | (n_tot[..., 0] <= 0)
    return {
        "auroc": M.roc_auc_from_counts(pos, neg),
        "aupr_in": M.average_precision_from_counts(neg[..., ::-1], pos[..., ::-1]),
        "aupr_out": M.average_precision_from_counts(pos, neg),
        "fpr_at_95_tpr": fpr_at_tpr_from_counts(pos, neg, 0.95),
        "fpr_at_80_tpr": fpr_at_tpr_from_counts(pos, neg, 0.80),
        "detection_accuracy": np.where(bad, np.nan, acc),
    }


def level_counts(scores: F64, is_ood: NDArray[Any], weights: F64 | None = None) -> tuple[F64, F64]:
    """OOD and in-distribution weight per distinct score, ascending: ``(pos, neg)``."""
    uniq, g = np.unique(scores, return_inverse=True)
    w = np.ones(scores.shape[0]) if weights is None else weights
    y = np.asarray(is_ood).astype(bool)
    pos = np.bincount(g[y], weights=w[y], minlength=uniq.size)
    neg = np.bincount(g[~y], weights=w[~y], minlength=uniq.size)
    return pos.astype(np.float64), neg.astype(np.float64)


def _replicated_counts(
    rep: Replication, scores: F64, y: NDArray[Any], w: F64, hashes: NDArray[np.uint64]
) -> tuple[F64, F64]:
    """``(R+1, G)`` OOD and in-distribution weight per distinct score, ascending."""
    if scores.size == 0:
        z = np.zeros((rep.n_replicates + 1, 1))
        return z, z.copy()
    uniq, g = np.unique(scores, return_inverse=True)
    out = np.zeros((uniq.size * 2, rep.n_state))
    rep.accumulate(out, g.astype(np.int64) * 2 + y.astype(np.int64), w, rep.row_data(hashes))
    st = stack_replicates(rep, out.reshape(uniq.size, 2, rep.n_state))  # (R+1, G, 2)
    return st[..., 1], st[..., 0]


@register_family
class OODMetrics(MetricFamily):
    name = "ood"
    tasks = ("ood",)
    order = 30
    metrics = (
        _info("auroc", "AUROC (OOD positive)",
              "Probability that an out-of-distribution example scores above an "
              "in-distribution one (ties count one half).", "higher", default=True),
        _info("aupr_in", "AUPR-in",
              "Average precision with in-distribution as the positive class, ranked by the "
              "negated score.", "higher"),
        _info("aupr_out", "AUPR-out",
              "Average precision with out-of-distribution as the positive class.", "higher",
              default=True),
        _info("fpr_at_95_tpr", "FPR at 95% TPR",
              "Share of in-distribution examples flagged at the strictest threshold that "
              "flags at least 95% of the out-of-distribution examples.", "lower",
              default=True),
        _info("fpr_at_80_tpr", "FPR at 80% TPR",
              "Share of in-distribution examples flagged at the strictest threshold that "
              "flags at least 80% of the out-of-distribution examples.", "lower"),
        _info("detection_accuracy", "Detection accuracy",
              "Best accuracy over thresholds with equal priors: max (TPR + 1 - FPR) / 2.",
              "higher", lower=0.5),
    )  # fmt: skip

    def layout(self) -> list[ArraySpec]:
        out: list[ArraySpec] = []
        for h in range(len(self.plan.heads)):
            out += [RowArray(f"ood_y{h}", "int8"), RowArray(f"ood_s{h}", "float64")]
        return out

    def update(self, chunk: Chunk) -> None:
        for h in range(len(chunk.s)):
            chunk.append(f"ood_y{h}", chunk.y[h])
            chunk.append(f"ood_s{h}", chunk.s[h])

    def finalize(self, view: StateView, si: int) -> list[Block]:
        rows = view.rows()
        rep = view.replication
        order = view.order(si)
        codes = rows.get(f"code{si}", np.zeros(0, dtype=np.int32))
        n_rep = rep.n_replicates + 1
        out = []
        for h in range(len(self.plan.heads)):
            s, y = rows.get(f"ood_s{h}"), rows.get(f"ood_y{h}")
            w, hsh = rows.get("w"), rows.get("hash")
            vals = {m: np.full((n_rep, order.size), np.nan) for m in OOD_METRICS}
            if s is not None and y is not None and w is not None and hsh is not None:
                for j, v in enumerate(order):
                    m = codes == v
                    pos, neg = _replicated_counts(rep, s[m], y[m], w[m], hsh[m])
                    for name, val in ood_metrics_from_counts(pos, neg).items():
                        vals[name][:, j] = val
            out.append(Block(h, si, vals))
        return out
