"""Former location of the demo, kept so old imports work: use :mod:`assay.apps.demo`.

``from assay.demo import run_demo`` still works (with a ``DeprecationWarning``); the demo
itself lives in :mod:`assay.apps.demo` with the other programs built on the public API.
"""

from __future__ import annotations

import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    from .apps import demo

    warnings.warn(
        "assay.demo moved to assay.apps.demo; import it from there.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(demo, name)
