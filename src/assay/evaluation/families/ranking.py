"""Threshold-free ranking metrics per slice: ROC AUC, PR AUC (average precision) and the
unintended-bias AUCs of Borkan et al. (2019): subgroup, BPSN and BNSP AUC.

``auc="histogram"`` (default): state per head and slice value ``hist{h}``, the weight per
label and score bin (``auc_bins`` equal-width bins), plus the smallest and largest score
seen in each bin over all rows (global arrays, merged by min and max): the AUC is exact
when no bin holds two distinct scores, and otherwise the ``max_error`` column bounds the
error. ``auc="exact"``: the rows themselves (score and label per head, merged by
concatenation; O(rows) memory).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...core.catalogue import MetricInfo
from ...core.family import (
    ArraySpec,
    Block,
    GlobalArray,
    MetricFamily,
    RowArray,
    SliceArray,
    register_family,
)
from ...core.histogram import ranking_metrics
from ...core.replicates import Replication
from ...core.state import Chunk, StateView, stack_replicates
from .. import metrics as M

F64 = NDArray[np.float64]
_G = "Ranking (threshold-free)"


def _auc(
    name: str, label: str, definition: str, default: bool = False, card: bool = False
) -> MetricInfo:
    return MetricInfo(
        name, label, definition, family="ranking", group=_G, lower=0.0, upper=1.0,
        better="higher", default=default, card=card,
    )  # fmt: skip


@register_family
class Ranking(MetricFamily):
    name = "ranking"
    tasks = ("classification",)
    order = 30
    metrics = (
        _auc("roc_auc", "ROC AUC", "Probability that a positive scores above a negative.", True),
        _auc("pr_auc", "PR AUC", "Average precision (area under the precision-recall curve)."),
        _auc("subgroup_auc", "Subgroup AUC", "ROC AUC within the slice."),
        _auc("bpsn_auc", "BPSN AUC",
             "Background Positive, Subgroup Negative: AUC of the slice's negatives against the "
             "other rows' positives. Low values: the slice's negatives get high scores.",
             card=True),
        _auc("bnsp_auc", "BNSP AUC",
             "Background Negative, Subgroup Positive: AUC of the slice's positives against the "
             "other rows' negatives. Low values: the slice's positives get low scores.",
             card=True),
    )  # fmt: skip

    @property
    def exact(self) -> bool:
        return self.plan.auc == "exact"

    def layout(self) -> list[ArraySpec]:
        nh, nb = len(self.plan.heads), self.plan.auc_bins
        if self.exact:
            out: list[ArraySpec] = []
            for h in range(nh):
                out += [RowArray(f"rank_y{h}", "int8"), RowArray(f"rank_s{h}", "float64")]
            return out
        out = [SliceArray(f"hist{h}", (2 * nb,), storage=_STORAGE) for h in range(nh)]
        for h in range(nh):
            out += [GlobalArray(f"bin_min{h}", (nb,), "min"), GlobalArray(f"bin_max{h}", (nb,), "max")]
        return out

    def update(self, chunk: Chunk) -> None:
        if self.exact:
            for h in range(len(chunk.s)):
                chunk.append(f"rank_y{h}", chunk.y[h])
                chunk.append(f"rank_s{h}", chunk.s[h])
            return
        nb = self.plan.auc_bins
        hbins = [np.minimum((sh * nb).astype(np.int64), nb - 1) for sh in chunk.s]
        for h, (hb, sh) in enumerate(zip(hbins, chunk.s, strict=True)):
            np.minimum.at(chunk.globals[f"bin_min{h}"], hb, sh)
            np.maximum.at(chunk.globals[f"bin_max{h}"], hb, sh)
        for tc in chunk.tables:
            if not tc.size:
                continue
            for h, hb in enumerate(hbins):
                yk = tc.sel(chunk.y[h]).astype(np.int64)
                tc.add(f"hist{h}", yk * nb + tc.sel(hb), tc.w)

    def finalize(self, view: StateView, si: int) -> list[Block]:
        if self.exact:
            return self._finalize_exact(view, si)
        if _STORAGE == "dense":
            return self._finalize_dense(view, si)
        nb = self.plan.auc_bins
        out = []
        has_cols = bool(view.table(si).spec.columns)
        for h in range(len(self.plan.heads)):
            name = f"hist{h}"
            mixed = view.globals[f"bin_max{h}"] > view.globals[f"bin_min{h}"]
            background = None
            if has_cols:
                allh = view.stack(0, name)[:, 0, :]  # the overall slice (spec 0): (R+1, 2*NB)
                background = (allh[:, nb:], allh[:, :nb])
            vals, bounds = ranking_metrics(
                view.histogram(si, name), view.order(si), nb, view.replication, mixed,
                background,
            )  # fmt: skip
            out.append(Block(h, si, vals, bounds))
        return out

    def _finalize_dense(self, view: StateView, si: int) -> list[Block]:
        """The same metrics from dense histograms (``_STORAGE = "dense"``, the reference the
        adaptive storage is tested against)."""
        nb = self.plan.auc_bins
        out = []
        has_cols = bool(view.table(si).spec.columns)
        for h in range(len(self.plan.heads)):
            hist = _hist_stack(view, si, f"hist{h}", nb)  # (R+1, V, 2, NB)
            pos, neg = hist[:, :, 1, :], hist[:, :, 0, :]
            mixed = view.globals[f"bin_max{h}"] > view.globals[f"bin_min{h}"]
            vals = {"roc_auc": M.roc_auc_from_counts(pos, neg),
                    "pr_auc": M.average_precision_from_counts(pos, neg)}  # fmt: skip
            bounds = {"roc_auc": M.roc_auc_error_bound(pos[0], neg[0], mixed),
                      "pr_auc": M.average_precision_error_bound(pos[0], neg[0], mixed)}  # fmt: skip
            if has_cols:
                allh = _hist_stack(view, 0, f"hist{h}", nb)  # the overall slice (spec 0)
                bg_pos = np.maximum(allh[:, :, 1, :] - pos, 0.0)  # clamp float cancellation
                bg_neg = np.maximum(allh[:, :, 0, :] - neg, 0.0)
                vals["subgroup_auc"] = vals["roc_auc"]
                bounds["subgroup_auc"] = bounds["roc_auc"]
                vals["bpsn_auc"] = M.roc_auc_from_counts(bg_pos, neg)
                vals["bnsp_auc"] = M.roc_auc_from_counts(pos, bg_neg)
                bounds["bpsn_auc"] = M.roc_auc_error_bound(bg_pos[0], neg[0], mixed)
                bounds["bnsp_auc"] = M.roc_auc_error_bound(pos[0], bg_neg[0], mixed)
            out.append(Block(h, si, vals, bounds))
        return out

    def _finalize_exact(self, view: StateView, si: int) -> list[Block]:
        rows = view.rows()
        rep = view.replication
        out = []
        order = view.order(si)
        spec_is_overall = not view.table(si).spec.columns
        codes = rows.get(f"code{si}", np.zeros(0, dtype=np.int32))
        for h in range(len(self.plan.heads)):
            s, y = rows.get(f"rank_s{h}"), rows.get(f"rank_y{h}")
            w, hsh = rows.get("w"), rows.get("hash")
            n_rep = rep.n_replicates + 1
            names = ["roc_auc", "pr_auc"] + ([] if spec_is_overall else ["bpsn_auc", "bnsp_auc"])
            vals = {m: np.full((n_rep, order.size), np.nan) for m in names}
            if s is not None and w is not None and hsh is not None and y is not None:
                for j, v in enumerate(order):
                    m = codes == v
                    pos, neg = _exact_counts(rep, s[m], y[m], w[m], hsh[m])
                    vals["roc_auc"][:, j] = M.roc_auc_from_counts(pos, neg)
                    vals["pr_auc"][:, j] = M.average_precision_from_counts(pos, neg)
                    if not spec_is_overall:
                        # BPSN: subgroup negatives vs background positives; BNSP the reverse.
                        bg = ~m
                        sel = (m & (y == 0)) | (bg & (y == 1))
                        pos_b, neg_b = _exact_counts(rep, s[sel], y[sel], w[sel], hsh[sel])
                        vals["bpsn_auc"][:, j] = M.roc_auc_from_counts(pos_b, neg_b)
                        sel = (m & (y == 1)) | (bg & (y == 0))
                        pos_b, neg_b = _exact_counts(rep, s[sel], y[sel], w[sel], hsh[sel])
                        vals["bnsp_auc"][:, j] = M.roc_auc_from_counts(pos_b, neg_b)
            bounds = {m: np.zeros(order.size) for m in names}
            if not spec_is_overall:
                vals = {"roc_auc": vals["roc_auc"], "pr_auc": vals["pr_auc"],
                        "subgroup_auc": vals["roc_auc"], "bpsn_auc": vals["bpsn_auc"],
                        "bnsp_auc": vals["bnsp_auc"]}  # fmt: skip
                bounds["subgroup_auc"] = bounds["roc_auc"]
            out.append(Block(h, si, vals, bounds))
        return out


#: Storage of the score histograms: adaptive, O(min(rows, bins)) per slice value (see
#: :class:`assay.core.histogram.SliceHistogram`).
_STORAGE: Any = "histogram"


def _hist_stack(view: StateView, si: int, name: str, nb: int) -> F64:
    """``(R+1, V, 2, NB)`` histogram of spec ``si`` in display order."""
    a = view.stack(si, name)  # (R+1, V, 2*NB)
    return a.reshape(a.shape[0], a.shape[1], 2, nb)


def _exact_counts(
    rep: Replication, scores: F64, y: NDArray[Any], w: F64, hashes: NDArray[np.uint64]
) -> tuple[F64, F64]:
    """Label weights per distinct score, ascending: ``(R+1, G)`` positives and negatives."""
    if scores.size == 0:
        z = np.zeros((rep.n_replicates + 1, 1))
        return z, z.copy()
    uniq, g = np.unique(scores, return_inverse=True)
    out = np.zeros((uniq.size * 2, rep.n_state))
    rep.accumulate(out, g.astype(np.int64) * 2 + y.astype(np.int64), w, rep.row_data(hashes))
    st = stack_replicates(rep, out.reshape(uniq.size, 2, rep.n_state))  # (R+1, G, 2)
    return st[..., 1], st[..., 0]
