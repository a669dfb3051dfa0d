"""Every table, for migrations and tests: ``metadata`` once the modules that define them are loaded.

The store does not import the packages that own tables (they sit above it). Each such module
is named in the ``ohsc.models`` entry-point group of ``pyproject.toml`` and loaded from there,
as python-threatexchange loads the extensions its manifest names.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from sqlalchemy import MetaData

from ohsc.store.models import Base

#: the entry-point group that names every module with tables
GROUP = "ohsc.models"


def model_modules() -> list[str]:
    """The modules named in the ``ohsc.models`` group, sorted (stable table order)."""
    return sorted({ep.value for ep in entry_points(group=GROUP)})


def load_models() -> MetaData:
    """Import every module with tables; returns the complete metadata."""
    for name in model_modules():
        importlib.import_module(name)
    return Base.metadata


metadata = load_models()
