"""How other packages add routes, pages and per-process services to the app.

An extension is a callable ``install(app: FastAPI, services: Services) -> None``. It typically
``app.include_router(...)``s its own router (protected with :func:`ohsc.web.auth.require_user`
or :func:`~ohsc.web.auth.require_api_key`, or marked public with
:func:`~ohsc.web.auth.allow_anonymous`), adds templates with
:func:`ohsc.web.templating.add_template_dir` and top-bar links to
:data:`ohsc.web.templating.NAV_LINKS`.

:func:`ohsc.web.app.create_app` installs, in order: the modules named in
:data:`EXTENSION_MODULES` (each must define ``install``), then every entry point in the
``ohsc.web`` group, then the ``extensions`` passed to it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ohsc.web.services import Services

Extension = Callable[["FastAPI", "Services"], None]

#: dotted module paths of built-in extensions (each defines ``install(app, services)``)
EXTENSION_MODULES: list[str] = ["ohsc.web.hma"]


def discover() -> Iterator[Extension]:
    for name in EXTENSION_MODULES:
        module = importlib.import_module(name)
        install: Extension = module.install
        yield install
    for ep in entry_points(group="ohsc.web"):
        loaded: Extension = ep.load()
        yield loaded
