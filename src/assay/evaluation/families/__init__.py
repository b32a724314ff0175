"""The built-in metric families of :func:`assay.evaluate`.

Every module in this package is imported here, and each registers its family (and its
catalogue entries) with :func:`assay.core.family.register_family`: adding a family is
adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
