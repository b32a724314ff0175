"""The registry of metric families and tasks (filled as family modules are imported)."""

from __future__ import annotations

from typing import Any, TypeVar

from .catalogue import register
from .layout import Task

#: A metric family class (a subclass of :class:`assay.core.family.MetricFamily`); kept
#: untyped here so that the registry does not import the base class.
FamilyClass = Any
T = TypeVar("T")


_FAMILIES: dict[str, FamilyClass] = {}
_TASKS: dict[str, Task] = {}


def register_family(cls: T) -> T:
    """Class decorator: add a family (and its catalogue entries) to the platform."""
    fam: Any = cls
    if not fam.name:
        raise ValueError(f"Metric family {fam.__qualname__} must set a 'name'.")
    old = _FAMILIES.get(fam.name)
    if old is not None and old.__qualname__ != fam.__qualname__:
        raise ValueError(f"A metric family named {fam.name!r} is already registered.")
    register(*fam.metrics, *fam.plots, order=fam.order)
    _FAMILIES[fam.name] = fam
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
