"""API v1: JSON, stable shapes, cursor paging, RFC 9457 problems; API keys with scopes."""

from fastapi import APIRouter

from ohsc.web.api import banks, cases, deterrence, feeds, matching, reports, review, rules, urls, webhooks

router = APIRouter(prefix="/v1")
for _module in (matching, banks, rules, review, webhooks, reports, deterrence, urls, cases, feeds):
    router.include_router(_module.router)

__all__ = ["router"]
