"""Metric families: the unit of extension of the evaluation platform.

A family is a small class that says

* which **tasks** it applies to (``"classification"``, ``"regression"``, ...; see
  :class:`Task`),
* which **state arrays** it needs (:meth:`MetricFamily.layout`) and how each reduces when
  two states merge: :class:`SliceArray` (one array per slice value with a trailing
  replicate axis, merged by sum), :class:`GlobalArray` (one array over all rows, merged by
  sum, min or max) and :class:`RowArray` (rows kept as they are, merged by
  concatenation),
* how one chunk of rows **updates** them (:meth:`MetricFamily.update`), and
* how the merged state becomes **metric values** (:meth:`MetricFamily.finalize`): arrays
  with the point estimate first and then one entry per replicate, from which the core
  computes intervals, differences and ratios to the baseline slice.

Its metrics and plots are catalogue entries (:mod:`assay.core.catalogue`) declared in the
same module. The core (:mod:`assay.core.state`, :mod:`assay.core.finalize`) never names a
metric. See ``docs/architecture.md``, "Adding a metric family".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from .catalogue import MetricInfo, PlotInfo
from .layout import ArraySpec, Block, GlobalArray, RowArray, SliceArray, Task
from .registry import families, register_family, register_task, tasks

if TYPE_CHECKING:
    from .plan import Plan
    from .state import Chunk, StateView

__all__ = [
    "ArraySpec", "Block", "GlobalArray", "MetricFamily", "RowArray", "SliceArray", "Task",
    "families", "register_family", "register_task", "tasks",
]  # fmt: skip


class MetricFamily:
    """Base class of a metric family (see the module docstring).

    Subclasses set :attr:`name`, :attr:`tasks`, :attr:`metrics` (and optionally
    :attr:`plots`), and implement :meth:`layout`, :meth:`update` and :meth:`finalize`.
    One instance is made per evaluation plan: ``family(plan)``.
    """

    name: ClassVar[str] = ""
    tasks: ClassVar[tuple[str, ...]] = ()
    metrics: ClassVar[tuple[MetricInfo, ...]] = ()
    plots: ClassVar[tuple[PlotInfo, ...]] = ()
    #: Families run in increasing ``order`` (which is also the order of their metrics).
    order: ClassVar[int] = 100

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    @classmethod
    def applies(cls, plan: Plan) -> bool:
        """Whether the family runs for ``plan`` (default: when the plan's task is one of
        :attr:`tasks`)."""
        return plan.task.name in cls.tasks

    def layout(self) -> list[ArraySpec]:
        """The state arrays this family needs (names are local to the family)."""
        raise NotImplementedError

    def update(self, chunk: Chunk) -> None:
        """Add one chunk of valid rows to the family's arrays."""
        raise NotImplementedError

    def finalize(self, view: StateView, si: int) -> list[Block]:
        """Metric values of slice spec ``si`` (one block per head) from the merged state.

        The view presents the slice values of ``si`` being finalized in
        ``view.order(si)`` (the core finalizes large specs in blocks of slice values, so
        that memory stays bounded); other specs in full.
        """
        raise NotImplementedError
