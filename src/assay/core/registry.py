"""The registry of metric families and tasks (filled as family modules are imported)."""

from __future__ import annotations

from typing import Any, Protocol

from .catalogue import MetricInfo, PlotInfo, register
from .layout import FamilyInstance, Task


class FamilyClass(Protocol):
    """A metric family class, as the registry and the plan see it."""

    name: str
    tasks: tuple[str, ...]
    order: int
    metrics: tuple[MetricInfo, ...]
    plots: tuple[PlotInfo, ...]
    __qualname__: str

    def __call__(self, plan: Any) -> FamilyInstance: ...

    def applies(self, plan: Any) -> bool: ...


_FAMILIES: dict[str, FamilyClass] = {}
_TASKS: dict[str, Task] = {}


def register_family(cls: FamilyClass) -> FamilyClass:
    """Class decorator: add a family (and its catalogue entries) to the platform."""
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


def families() -> list[FamilyClass]:
    """Registered families in run order."""
    return sorted(_FAMILIES.values(), key=lambda c: (c.order, c.name))


def tasks() -> dict[str, Task]:
    """Registered tasks by name."""
    return dict(_TASKS)
