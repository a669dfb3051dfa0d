"""The review UI: server-rendered Jinja2 pages with htmx, sessions and CSRF."""

import inspect
from typing import Any

from fastapi import APIRouter

from ohsc.web.auth import FORM_MAX_FIELDS, FORM_MAX_FILES
from ohsc.web.ui import (
    account,
    admin,
    admin_banks,
    admin_exchanges,
    admin_keys,
    admin_rules,
    admin_users,
    admin_webhooks,
    audit,
    cases,
    evidence,
    figures,
    help,
    investigate,
    login,
    prevention_admin,
    removal,
    report_stats,
    reports,
    review,
    review_grid,
    review_media,
    trace,
)

#: forms FastAPI parses for a route's Form parameters get the limits check_csrf uses (where the
#: installed FastAPI takes them; the body caps of ohsc.web.bodies bound the forms of every version)
_LIMITS: dict[str, Any] = {"form_limits": {"max_files": FORM_MAX_FILES, "max_fields": FORM_MAX_FIELDS}}
router = APIRouter(**(_LIMITS if "form_limits" in inspect.signature(APIRouter).parameters else {}))
_MODULES = (
    login,
    account,
    review,
    review_media,
    review_grid,
    cases,
    audit,
    report_stats,
    reports,
    evidence,
    help,
    trace,
    investigate,
    prevention_admin,
    removal,
    admin,
    admin_banks,
    *(admin_users, admin_keys, admin_rules, admin_webhooks, admin_exchanges),
    figures,
)
for _module in _MODULES:  # report_stats before reports: /reports/stats before /reports/{id}
    router.include_router(_module.router)
router.include_router(removal.public)

__all__ = ["router"]
