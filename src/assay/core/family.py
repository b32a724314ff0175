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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from .catalogue import MetricInfo, PlotInfo

if TYPE_CHECKING:
    from .plan import Plan
    from .state import Chunk, StateView

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class SliceArray:
    """A state array per slice value: ``shape`` per value, then the replicate axis.

    Merged by addition. ``storage="histogram"`` stores it as a
    :class:`~assay.core.histogram.SliceHistogram` (sparse for small slices, dense for large
    ones; the ``shape`` must then be 1-D: the number of cells).
    """

    name: str
    shape: tuple[int, ...]
    storage: Literal["dense", "histogram"] = "dense"


@dataclass(frozen=True)
class GlobalArray:
    """An array over all rows (no slices, no replicates), merged by ``reduce``."""

    name: str
    shape: tuple[int, ...]
    reduce: Literal["sum", "min", "max"]

    @property
    def fill(self) -> float:
        return {"sum": 0.0, "min": np.inf, "max": -np.inf}[self.reduce]


@dataclass(frozen=True)
class RowArray:
    """Values per row, kept as they are and merged by concatenation (O(rows) memory).

    When any family declares one, the state also keeps each row's slice code per spec
    (``RowArray`` named ``code{spec}``), remapped on merge.
    """

    name: str
    dtype: str = "float64"


ArraySpec = SliceArray | GlobalArray | RowArray


@dataclass(frozen=True)
class Task:
    """What a task's labels and scores are, so the reader can check and convert them.

    ``labels``: ``"binary"`` (0/1, booleans, strings with ``positive_label``, or class
    values with ``classes``, one-vs-rest) or ``"numeric"`` (any finite number).
    ``scores``: ``"probability"`` (in [0, 1], or logits with ``score_type="logit"``) or
    ``"numeric"`` (any finite number, e.g. a regression prediction).
    ``thresholds``: whether decision thresholds apply.
    """

    name: str
    labels: Literal["binary", "numeric"]
    scores: Literal["probability", "numeric"]
    thresholds: bool
    description: str = ""


@dataclass
class Block:
    """Metric values of one family for one head (scored output) and one slice spec.

    ``values[metric]`` has shape ``(R+1, V)`` or ``(R+1, V, K)`` for per-threshold
    metrics: point estimate first, then the replicates; ``V`` slice values in display
    order. ``bounds[metric]`` ``(V,)`` optionally bounds the numerical error of a value
    (the ``max_error`` column).
    """

    head: int
    spec: int
    values: dict[str, F64] = field(default_factory=dict)
    bounds: dict[str, F64] = field(default_factory=dict)


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

    def finalize(self, view: StateView) -> list[Block]:
        """Metric values per (head, spec) from the merged state."""
        raise NotImplementedError


_FAMILIES: dict[str, type[MetricFamily]] = {}
_TASKS: dict[str, Task] = {}


def register_family(cls: type[MetricFamily]) -> type[MetricFamily]:
    """Class decorator: add a family (and its catalogue entries) to the platform."""
    from .catalogue import register

    if not cls.name:
        raise ValueError(f"Metric family {cls.__qualname__} must set a 'name'.")
    old = _FAMILIES.get(cls.name)
    if old is not None and old.__qualname__ != cls.__qualname__:
        raise ValueError(f"A metric family named {cls.name!r} is already registered.")
    register(*cls.metrics, *cls.plots)
    _FAMILIES[cls.name] = cls
    return cls


def register_task(task: Task) -> Task:
    """Add a task (what its labels and scores are) to the platform."""
    old = _TASKS.get(task.name)
    if old is not None and old != task:
        raise ValueError(f"A task named {task.name!r} is already registered differently.")
    _TASKS[task.name] = task
    return task


def families() -> list[type[MetricFamily]]:
    """Registered families in run order."""
    return sorted(_FAMILIES.values(), key=lambda c: (c.order, c.name))


def tasks() -> dict[str, Task]:
    """Registered tasks by name."""
    return dict(_TASKS)
