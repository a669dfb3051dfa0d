"""Action rules over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ohsc.actions.rules import Rule
from ohsc.web.api.common import PROBLEMS
from ohsc.web.api.schemas import Page, RuleIn, RulePatch
from ohsc.web.auth import BankAdminClient, get_services
from ohsc.web.paging import clamp_limit, decode_cursor, page

router = APIRouter(prefix="/rules", tags=["actions"], responses=PROBLEMS)


@router.get("", response_model=Page[Rule], summary="List action rules")
async def list_rules(
    request: Request, client: BankAdminClient, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    size = clamp_limit(limit)
    after = decode_cursor(cursor) or 0
    rules = await run_in_threadpool(get_services(request).actions(client.actor).list_rules)
    shown = [r for r in rules if (r.id or 0) > after]
    return page(shown[: size + 1], size, lambda r: r.id or 0, lambda r: r.to_dict())


@router.post("", response_model=Rule, status_code=201, summary="Create an action rule")
async def create_rule(body: RuleIn, request: Request, client: BankAdminClient) -> Rule:
    """What a match in ``bank`` (null: any bank) with ``category`` (null: any) does. The most
    specific rule wins: bank+category, bank, category, any."""
    svc = get_services(request).actions(client.actor)
    rule = await run_in_threadpool(
        lambda: svc.create_rule(
            bank=body.bank,
            category=body.category,
            verdict=body.verdict,
            review=body.review,
            notify=body.notify,
            report=body.report,
        )
    )
    return rule


@router.get("/{rule_id}", response_model=Rule, summary="An action rule")
async def get_rule(rule_id: int, request: Request, client: BankAdminClient) -> Rule:
    rule = await run_in_threadpool(get_services(request).actions(client.actor).get_rule, rule_id)
    return rule


@router.patch("/{rule_id}", response_model=Rule, summary="Change an action rule")
async def update_rule(rule_id: int, body: RulePatch, request: Request, client: BankAdminClient) -> Rule:
    svc = get_services(request).actions(client.actor)
    rule = await run_in_threadpool(
        lambda: svc.update_rule(
            rule_id, verdict=body.verdict, review=body.review, notify=body.notify, report=body.report
        )
    )
    return rule


@router.delete("/{rule_id}", status_code=204, summary="Delete an action rule")
async def delete_rule(rule_id: int, request: Request, client: BankAdminClient) -> Response:
    await run_in_threadpool(get_services(request).actions(client.actor).delete_rule, rule_id)
    return Response(status_code=204)
