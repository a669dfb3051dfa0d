"""The review UI: server-rendered Jinja2 pages with htmx, sessions and CSRF."""

from fastapi import APIRouter

from ohsc.web.ui import (
    account,
    audit,
    evidence,
    help,
    investigate,
    login,
    prevention_admin,
    report_stats,
    reports,
    review,
    review_media,
    trace,
)

router = APIRouter()
_MODULES = (
    login,
    account,
    review,
    review_media,
    audit,
    report_stats,
    reports,
    evidence,
    help,
    trace,
    investigate,
    prevention_admin,
)
for _module in _MODULES:  # report_stats before reports: /reports/stats before /reports/{id}
    router.include_router(_module.router)

__all__ = ["router"]
