"""Engines: where the rows of an evaluation are read and summarized.

An engine takes a validated :class:`~assay.core.plan.Plan` and the data, and returns the
merged :class:`~assay.core.state.EvalState` with the number of rows it read and a
description of the source. It distributes chunks and merges states; it never computes a
metric. :class:`LocalEngine` streams the data in this process; ``assay.engines.spark``
runs the same reader on Spark executors. See ``docs/architecture.md``, "Adding an engine".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .._util.progress import Progress
from ..io.tables import open_source
from .plan import Plan
from .reader import ChunkReader
from .state import EvalState


@dataclass
class EngineRun:
    """What an engine returns: the merged state, rows read, and the source's description."""

    state: EvalState
    seen: int
    source: str


@runtime_checkable
class Engine(Protocol):
    """The engine interface: ``run(plan, data, progress=...) -> EngineRun``."""

    def run(self, plan: Plan, data: Any, *, progress: bool = False) -> EngineRun: ...


class LocalEngine:
    """Streams the data in this process in ``plan.chunk_size`` rows (bounded memory)."""

    name = "local"

    def run(self, plan: Plan, data: Any, *, progress: bool = False) -> EngineRun:
        source = open_source(data, func=plan.func, na_values=plan.na_values)
        plan.check_columns(source)
        st = EvalState(plan)
        bar = Progress(
            source.total_rows if source.total_rows is not None else source.total_bytes,
            desc=plan.func,
            unit="rows" if source.total_rows is not None else "bytes",
            enabled=progress,
        )
        reader = ChunkReader(plan)
        with bar:
            for batch in source.batches(plan.needed_columns(), plan.chunk_size, plan.csv_types()):
                reader.add(st, batch)
                if source.total_rows is not None:
                    bar.update(batch.num_rows)
                else:
                    bar.update(position=source.bytes_read())
        # Checks of the whole stream (a chunk may hold one label value only).
        reader.check_label_values([])
        return EngineRun(st, reader.seen, source.description)


EngineFactory = Callable[..., Engine]


@dataclass(frozen=True)
class _Registered:
    factory: EngineFactory
    handles: Callable[[Any], bool] | None


_ENGINES: dict[str, _Registered] = {"local": _Registered(LocalEngine, None)}


def register_engine(
    name: str, factory: EngineFactory, *, handles: Callable[[Any], bool] | None = None
) -> None:
    """Make ``engine=name`` select ``factory()``. ``handles(obj)`` says whether a data
    object, or an object passed as ``engine`` (e.g. a SparkSession), belongs to this
    engine: such data selects it, and such an object is passed as ``factory(obj)``."""
    _ENGINES[name] = _Registered(factory, handles)


def engine_names() -> list[str]:
    return list(_ENGINES)


def resolve_engine(engine: Any, data: Any, *, func: str) -> Engine:
    """The engine object for the ``engine`` argument and the type of ``data``: a
    registered name, an :class:`Engine`, or an object a registered engine handles (a
    ``SparkSession``)."""
    if isinstance(engine, Engine):
        return engine
    for reg in _ENGINES.values():
        if reg.handles is not None and not isinstance(engine, str) and reg.handles(engine):
            return reg.factory(engine)
    if engine == "local":
        for reg in _ENGINES.values():
            if reg.handles is not None and reg.handles(data):
                return reg.factory()
    if isinstance(engine, str) and engine in _ENGINES:
        return _ENGINES[engine].factory()
    from .._util.validation import param_error

    names = ", ".join(repr(n) for n in _ENGINES)
    raise param_error("engine", f"one of {{{names}}}", engine, func=func)
