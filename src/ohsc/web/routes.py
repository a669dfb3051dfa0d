"""Walk every HTTP route of an app, whichever way FastAPI stores included routers.

Used by the test that proves every route requires authentication, and handy for extensions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from ohsc.web.auth import allow_anonymous


@dataclass(frozen=True, slots=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    dependant: Any

    @property
    def public(self) -> bool:
        """Marked public on purpose with :func:`ohsc.web.auth.allow_anonymous`."""
        return _uses(self.dependant, allow_anonymous)


def _uses(dependant: Any, fn: object) -> bool:
    if dependant is None:
        return False
    if getattr(dependant, "call", None) is fn:
        return True
    return any(_uses(d, fn) for d in getattr(dependant, "dependencies", []))


def _walk(routes: Any) -> Iterator[RouteInfo]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield RouteInfo(route.path, frozenset(route.methods or ()), route.dependant)
        elif hasattr(route, "effective_route_contexts"):  # FastAPI >= 0.130 keeps routers included lazily
            for ctx in route.effective_route_contexts():
                if ctx.dependant is not None:
                    yield RouteInfo(ctx.path_format, frozenset(ctx.methods), ctx.dependant)


def walk_routes(app: FastAPI) -> Iterator[RouteInfo]:
    """Every API route (path with its ``{parameters}``, methods, dependencies); mounts are skipped."""
    yield from _walk(app.routes)
