"""The registry of exchange kinds. Built-in kinds are named here by module path and imported
when first used; other packages add theirs with :func:`register` (or the ``ohsc.exchanges``
entry-point group), so the core never imports a kind it does not use."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from ohsc.errors import InvalidInputError
from ohsc.exchanges.model import Exchange

#: kind -> "module:class" of the built-in kinds
BUILTIN: dict[str, str] = {
    "ohsc-feed": "ohsc.exchanges.feed_client:OhscFeedExchange",
    "ncmec": "ohsc.exchanges.ncmec:NcmecExchange",
    "stopncii": "ohsc.exchanges.stopncii:StopNciiExchange",
}

_REGISTERED: dict[str, type[Exchange]] = {}


def register(cls: type[Exchange]) -> type[Exchange]:
    """Add a kind (usable as a class decorator)."""
    _REGISTERED[cls.kind] = cls
    return cls


def kind_names() -> list[str]:
    names = set(BUILTIN) | set(_REGISTERED)
    names |= {ep.name for ep in entry_points(group="ohsc.exchanges")}
    return sorted(names)


def get_kind(name: str) -> type[Exchange]:
    if name in _REGISTERED:
        return _REGISTERED[name]
    target = BUILTIN.get(name)
    if target is None:
        for ep in entry_points(group="ohsc.exchanges"):
            if ep.name == name:
                target = ep.value
                break
    if target is None:
        raise InvalidInputError(f"unknown exchange kind {name!r} (known: {', '.join(kind_names())})")
    module, _, attr = target.partition(":")
    cls: type[Exchange] = getattr(importlib.import_module(module), attr)
    _REGISTERED[name] = cls
    return cls
