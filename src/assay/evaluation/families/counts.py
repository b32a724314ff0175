"""Slice sizes: the row count of every slice (every task)."""

from __future__ import annotations

from ...core.catalogue import MetricInfo
from ...core.family import ArraySpec, Block, MetricFamily, register_family
from ...core.plan import Plan
from ...core.state import Chunk, StateView


@register_family
class Counts(MetricFamily):
    """``example_count``: rows per slice, from the core's own ``n`` array."""

    name = "counts"
    order = 0
    metrics = (
        MetricInfo(
            "example_count", "Example count", "Rows in the slice.", family="counts",
            group="Counts", lower=0.0, interval=False, gap="none", size=True,
        ),
    )  # fmt: skip

    @classmethod
    def applies(cls, plan: Plan) -> bool:
        return True

    def layout(self) -> list[ArraySpec]:
        return []  # the core keeps ``n`` for every state

    def update(self, chunk: Chunk) -> None:
        return None

    def finalize(self, view: StateView, si: int) -> list[Block]:
        out = []
        n = view.stack(si, "n")
        for h in range(len(self.plan.heads)):
            out.append(Block(h, si, {"example_count": n}))
        return out
