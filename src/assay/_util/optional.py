"""Import optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

_EXTRA_OF = {
    "pandas": "pandas",
    "polars": "polars",
    "torch": "torch",
    "lightning": "lightning",
    "pyspark": "spark",
    "playwright": "report",
}


def require(module: str, extra: str | None = None, *, purpose: str | None = None) -> ModuleType:
    """Import ``module`` or raise ``ImportError`` naming the ``assay[extra]`` to install.

    >>> require("numpy").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised with a fake module name in tests
        top = module.split(".")[0]
        extra = extra or _EXTRA_OF.get(top, top)
        what = f" for {purpose}" if purpose else ""
        raise ImportError(
            f"{top!r} is required{what} but is not installed; "
            f"install it with: pip install 'assay[{extra}]'"
        ) from exc


def is_available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it twice."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
