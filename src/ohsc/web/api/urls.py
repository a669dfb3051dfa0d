"""URLs for the removal crawler: ``POST /v1/urls`` (scope ``crawl``) and reading them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import ApiClient
from ohsc.accounts.roles import Scope
from ohsc.removal.frontier import Added, CrawlUrl, Frontier
from ohsc.web.api.common import PROBLEMS
from ohsc.web.auth import get_services, require_api_key

router = APIRouter(prefix="/urls", tags=["removal"], responses=PROBLEMS)

CrawlClient = Annotated[ApiClient, Depends(require_api_key(Scope.CRAWL))]


class UrlsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1, max_length=1000, description="http(s) URLs to crawl")
    note: str = Field(default="", max_length=500, description="Why (kept with the URL's source)")


class UrlsOut(BaseModel):
    urls: list[Added]


@router.post("", response_model=UrlsOut, status_code=202, summary="Report URLs for crawling")
async def add_urls(body: UrlsIn, request: Request, client: CrawlClient) -> UrlsOut:
    """Queue URLs for the crawler. A URL already known merges (``new: false``) and gains this
    client as a source. Internal addresses are refused (422) unless the operator allows them."""
    frontier = Frontier(get_services(request).store, get_services(request).settings, actor=client.actor)
    added = await run_in_threadpool(lambda: frontier.add(body.urls, source="api", note=body.note))
    return UrlsOut(urls=added)


@router.get("/{url_id}", response_model=CrawlUrl, summary="A reported URL and its crawl state")
async def get_url(url_id: int, request: Request, client: CrawlClient) -> CrawlUrl:
    frontier = Frontier(get_services(request).store, get_services(request).settings, actor=client.actor)
    return await run_in_threadpool(frontier.get, url_id)
