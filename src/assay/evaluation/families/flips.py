"""Flip rates between two models: the share of rows whose decision at a threshold differs
between the first model and another (each other model is compared with the first).

State per model pair and slice value: ``flip{p}`` ``(2, 4, K+1)``. A row whose scores fall
in threshold intervals ``ta`` (first model) and ``tb`` (other) with ``ta != tb`` flips at
exactly the thresholds ``j`` with ``min(ta, tb) <= j < max(ta, tb)``; direction 0 (positive
to negative) when ``ta > tb``. The state keeps, per direction, the weight and the row
count of the flipping rows at the start and the end of that range, so the flipped weight
at threshold ``j`` is a difference of two cumulative sums: O(K) memory per slice value
instead of a (K+1) x (K+1) table, and a threshold with no flipping row gives exactly 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ...core.catalogue import MetricInfo
from ...core.family import ArraySpec, Block, MetricFamily, SliceArray, register_family
from ...core.plan import Plan
from ...core.state import Chunk, StateView
from .. import metrics as M

F64 = NDArray[np.float64]
_G = "Between models"


def _flip(name: str, label: str, definition: str) -> MetricInfo:
    return MetricInfo(
        name, label, definition, family="flips", group=_G, per_threshold=True, lower=0.0,
        upper=1.0, better="lower",
    )  # fmt: skip


@register_family
class Flips(MetricFamily):
    name = "flips"
    tasks = ("classification",)
    order = 40
    metrics = (
        _flip("flip_rate", "Flip rate",
              "Share of rows whose decision differs between the two models."),
        _flip("flip_rate_pos_to_neg", "Flip rate, positive to negative",
              "Positive, then negative."),
        _flip("flip_rate_neg_to_pos", "Flip rate, negative to positive",
              "Negative, then positive."),
    )  # fmt: skip

    @classmethod
    def applies(cls, plan: Plan) -> bool:
        return plan.task.name in cls.tasks and bool(plan.pairs)

    def layout(self) -> list[ArraySpec]:
        k1 = len(self.plan.thresholds) + 1
        return [SliceArray(f"flip{p}", (2, 4, k1)) for p in range(len(self.plan.pairs))]

    def update(self, chunk: Chunk) -> None:
        thresholds = np.asarray(self.plan.thresholds, dtype=np.float64)
        k1 = thresholds.size + 1
        tbins = chunk.cache.get("tbins")
        if tbins is None:
            tbins = [np.searchsorted(thresholds, sh, side="left") for sh in chunk.s]
        for p, (a, b) in enumerate(self.plan.pairs):
            ta, tb = tbins[a], tbins[b]
            lo = np.minimum(ta, tb)
            hi = np.maximum(ta, tb)
            active = (ta != tb).astype(np.float64)
            d = (ta <= tb).astype(np.int64)  # 0: first model positive, other negative
            start = (d * 4) * k1 + lo
            end = (d * 4 + 1) * k1 + hi
            for tc in chunk.tables:
                if not tc.size:
                    continue
                act = tc.sel(active)
                wa = tc.w * act
                s_, e_ = tc.sel(start), tc.sel(end)
                name = f"flip{p}"
                tc.add(name, s_, wa)
                tc.add(name, e_, wa)
                tc.add(name, s_ + 2 * k1, act)
                tc.add(name, e_ + 2 * k1, act)

    def finalize(self, view: StateView, si: int) -> list[Block]:
        out = []
        tot = view.stack(si, "wsum")[..., None]  # (R+1, V, 1)
        for p, (_a, b) in enumerate(self.plan.pairs):
            fl = view.stack(si, f"flip{p}")  # (R+1, V, 2, 4, K+1)
            cs = np.cumsum(fl, axis=-1)[..., :-1]  # thresholds j = 0..K-1
            flipped = cs[..., 0, :] - cs[..., 1, :]  # (R+1, V, 2, K)
            rows = cs[..., 2, :] - cs[..., 3, :]
            flipped = np.where(rows > 0.5, flipped, 0.0)
            p2n, n2p = flipped[..., 0, :], flipped[..., 1, :]
            vals = {
                "flip_rate": M.safe_div(p2n + n2p, tot),
                "flip_rate_pos_to_neg": M.safe_div(p2n, tot),
                "flip_rate_neg_to_pos": M.safe_div(n2p, tot),
            }
            out.append(Block(b, si, vals))
        return out
