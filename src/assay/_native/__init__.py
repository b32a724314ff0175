"""Optional compiled kernels, built from C when assay is installed.

Every kernel here has a pure-PyTorch (or NumPy) counterpart in the code that calls it, and
gives the same numbers up to rounding; the compiled one is only faster. If the extension
was not built (no C compiler at install time) or is switched off, the fallback is used.

* ``ASSAY_NATIVE=0`` in the environment switches the compiled kernels off for the process;
* :func:`use_native` does it for a block of code (tests compare both paths with it);
* :func:`available` says whether the compiled kernels are loaded and switched on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

__all__ = ["available", "build_error", "pairwise", "use_native"]

_pairwise: ModuleType | None
_error: str | None
try:
    from . import _pairwise
except ImportError as exc:  # not built
    _pairwise = None
    _error = (
        "the C extension assay._native._pairwise is not built (was a C compiler available "
        f"when assay was installed?): {type(exc).__name__}: {exc}"
    )
else:
    _error = None

_enabled = os.environ.get("ASSAY_NATIVE", "1").strip().lower() not in {"0", "false", "no", "off"}


def available() -> bool:
    """Whether the compiled kernels are built, loaded and switched on."""
    return _enabled and _pairwise is not None


def build_error() -> str | None:
    """Why the compiled kernels could not be imported (``None`` if they were)."""
    return _error


def pairwise() -> ModuleType | None:
    """The compiled pairwise-kernel module, or ``None`` when it is unavailable or switched off."""
    return _pairwise if _enabled else None


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
