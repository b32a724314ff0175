"""The vocabulary of a metric family's state: array declarations with their reductions,
tasks, and the blocks of values a family returns (see :mod:`assay.core.family`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

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




class FamilyInstance(Protocol):
    """What the state and the finalizer call on a metric family (see ``MetricFamily``)."""

    name: str

    def layout(self) -> list[ArraySpec]: ...

    def update(self, chunk: Any) -> None: ...

    def finalize(self, view: Any, si: int) -> list[Block]: ...
