"""Optional compiled kernels, built from C when assay is installed.

Every kernel here has a pure-PyTorch (or NumPy) counterpart in the code that calls it, and
gives the same numbers up to rounding; the compiled one is only faster. If an extension
was not built (no C compiler at install time) or is switched off, the fallback is used.

* ``_pairwise.c``: the MMD kernel sums of MinDiff (:mod:`assay.fairness.remediation`);
* ``_calibration.c``: one pass of checks and per-bin sums over class probabilities
  (:mod:`assay.uncertainty`).

* ``ASSAY_NATIVE=0`` in the environment switches the compiled kernels off for the process;
* :func:`use_native` does it for a block of code (tests compare both paths with it);
* :func:`available` says whether the compiled kernels are loaded and switched on.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

__all__ = ["available", "build_error", "calibration", "pairwise", "use_native"]

_errors: list[str] = []


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError as exc:  # not built
        _errors.append(
            f"the C extension {__name__}.{name} is not built (was a C compiler available "
            f"when assay was installed?): {type(exc).__name__}: {exc}"
        )
        return None


_pairwise = _load("_pairwise")
_calibration = _load("_calibration")
_error: str | None = "; ".join(_errors) or None

_enabled = os.environ.get("ASSAY_NATIVE", "1").strip().lower() not in {"0", "false", "no", "off"}


def available() -> bool:
    """Whether the compiled kernels (all of them) are built, loaded and switched on."""
    return _enabled and _pairwise is not None and _calibration is not None


def build_error() -> str | None:
    """Why a compiled kernel could not be imported (``None`` if all were)."""
    return _error


def pairwise() -> ModuleType | None:
    """The compiled pairwise-kernel module, or ``None`` when it is unavailable or switched off."""
    return _pairwise if _enabled else None


def calibration() -> ModuleType | None:
    """The compiled one-pass calibration module (``_calibration.c``: the checks and per-bin
    sums of :mod:`assay.uncertainty`), or ``None`` when it is unavailable or switched off."""
    return _calibration if _enabled else None


@contextmanager
def use_native(enabled: bool) -> Iterator[None]:
    """Switch the compiled kernels on or off inside a ``with`` block (not thread-local)."""
    global _enabled
    previous = _enabled
    _enabled = bool(enabled)
    try:
        yield
    finally:
        _enabled = previous
