"""Deterrence checks over HTTP: ``POST /v1/deterrence/check`` and the click-counting redirect.

The checked text lives only for the duration of the request: it is not stored, logged, counted
or repeated in an error (:mod:`ohsc.prevention.deterrence`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.roles import Role, Scope
from ohsc.web.api.common import PROBLEMS
from ohsc.web.auth import SESSION_COOKIE, allow_anonymous, get_services, require_api_key, require_user
from ohsc.web.prevention import prevention

router = APIRouter(prefix="/deterrence", tags=["prevention"], responses=PROBLEMS)

_key = require_api_key(Scope.DETERRENCE)
_admin = require_user(Role.ADMIN)


async def deterrence_caller(request: Request) -> str:
    """An API key with the ``deterrence`` scope, or a logged-in admin (CSRF checked)."""
    if request.cookies.get(SESSION_COOKIE) and not request.headers.get("authorization"):
        return (await _admin(request)).actor
    return (await _key(request)).actor


Caller = Annotated[str, Depends(deterrence_caller)]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The search query, user name or chat line (never stored).")
    locale: str | None = Field(default=None, max_length=35, description="e.g. de, pt-BR")
    country: str | None = Field(default=None, max_length=8, description="ISO 3166 two-letter code")
    context: str | None = Field(
        default=None, max_length=20, description="search, username, chat, upload, other"
    )


class MessageOut(BaseModel):
    id: str
    locale: str
    version: int
    direction: str
    title: str
    body: str
    help: str
    action: str


class ResourceOut(BaseModel):
    id: int
    name: str
    organisation: str
    description: str
    phone: str
    tel: str
    phone_note: str
    url: str
    chat_url: str
    email: str
    hours: str
    languages: list[str]
    countries: list[str]
    click_url: str
    description_language: str | None = Field(
        default=None, description='The description\'s language where known ("en" for shipped services).'
    )


_Names = list[str]
_Resources = list[ResourceOut]


class CheckOut(BaseModel):
    triggered: bool
    list: str | None = Field(description="The first term list that matched (lists in file-name order)")
    lists: _Names
    message: MessageOut | None
    resources: _Resources
    locale: str


@router.post("/check", response_model=CheckOut, summary="Check a text against the deterrence term lists")
async def check(body: CheckIn, request: Request, _caller: Caller) -> dict[str, Any]:
    """On a match: a localised, non-shaming message with help services near the person (links
    through the click-counting ``click_url``). Only aggregate counters are kept."""
    service = prevention(get_services(request)).deterrence
    result = await run_in_threadpool(
        lambda: service.check(body.text, locale=body.locale, country=body.country, context=body.context)
    )
    return result.to_dict()


@router.get(
    "/go/{service_id}",
    summary="Open a help service's web site (counts the click)",
    status_code=303,
    dependencies=[Depends(allow_anonymous)],
)
async def go(service_id: int, request: Request, locale: str | None = None) -> RedirectResponse:
    """Public: counts one click on the service (per day and locale, nothing else) and redirects."""
    service = prevention(get_services(request)).deterrence
    target = await run_in_threadpool(lambda: service.click(service_id, locale=locale))
    return RedirectResponse(target, status_code=303)
