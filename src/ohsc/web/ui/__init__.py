"""The review UI: server-rendered Jinja2 pages with htmx, sessions and CSRF."""

from fastapi import APIRouter

from ohsc.web.ui import audit, help, investigate, login, prevention_admin, review, trace

router = APIRouter()
for _module in (login, review, audit, help, trace, investigate, prevention_admin):
    router.include_router(_module.router)

__all__ = ["router"]
