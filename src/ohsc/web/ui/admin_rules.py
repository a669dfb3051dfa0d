"""``/admin/rules``: action rules (what a match does, per bank and category) and bank policies
(two-person review, flood limits, reference thumbnails). Forms are checked with the API's pydantic
models (``RuleIn``, ``RulePatch``, ``PolicyIn``), then go to one
:class:`~ohsc.actions.service.ActionService` call each (as ``ohsc rule ...``), audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ohsc.actions.rules import Policy, Rule
from ohsc.errors import OhscError
from ohsc.web.api.schemas import PolicyIn, RuleIn, RulePatch
from ohsc.web.auth import get_services
from ohsc.web.ui.admin_common import (
    AdminOnly,
    admin_page,
    back,
    checked,
    form_fields,
    validation_messages,
)

router = APIRouter(prefix="/admin/rules", include_in_schema=False)
HERE = "/admin/rules"
VERDICTS = ("block", "review", "allow")


def _load(request: Request) -> dict[str, Any]:
    services = get_services(request)
    actions = services.actions("web")
    banks = services.banks("web").list_banks()
    policies = {p.bank_id: p for p in actions.list_policies()}
    return {
        "rules": actions.list_rules(),
        "banks": banks,
        "bank_names": {b.id: b.name for b in banks},
        "policies": [(b, policies.get(b.id, Policy(bank_id=b.id)), b.id in policies) for b in banks],
    }


async def _page(
    request: Request, errors: list[str] | None = None, form: dict[str, str] | None = None
) -> Response:
    ctx = await run_in_threadpool(_load, request)
    ctx.update({"verdicts": VERDICTS, "errors": errors or [], "form": form or {}})
    return admin_page(request, "admin/rules.html", HERE, ctx, status_code=400 if errors else 200)


@router.get("")
async def rules_page(request: Request, _user: AdminOnly) -> Response:
    return await _page(request)


def _rule_in(f: dict[str, str]) -> RuleIn:
    review = {"yes": True, "no": False}.get(f.get("review", ""))
    return RuleIn.model_validate(
        {
            "bank": f.get("bank") or None,
            "category": f.get("category") or None,
            "verdict": f.get("verdict", ""),
            "review": review,
            "notify": checked(f, "notify"),
            "report": checked(f, "report"),
        }
    )


@router.post("")
async def create_rule(request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    try:
        body = _rule_in(f)
    except ValidationError as exc:
        return await _page(request, validation_messages(exc), f)
    svc = get_services(request).actions(user.actor)
    try:
        rule = await run_in_threadpool(lambda: svc.create_rule(**body.model_dump()))
    except OhscError as exc:
        return await _page(request, [exc.message], f)
    return back(HERE, f"Created rule {rule.id}.")


async def _edit_page(request: Request, rule: Rule, errors: list[str] | None = None) -> Response:
    banks = await run_in_threadpool(get_services(request).banks("web").list_banks)
    ctx = {
        "rule": rule,
        "bank_names": {b.id: b.name for b in banks},
        "verdicts": VERDICTS,
        "errors": errors or [],
    }
    return admin_page(request, "admin/rule_edit.html", HERE, ctx, status_code=400 if errors else 200)


@router.get("/{rule_id}")
async def edit_rule_page(rule_id: int, request: Request, _user: AdminOnly) -> Response:
    rule = await run_in_threadpool(get_services(request).actions("web").get_rule, rule_id)
    return await _edit_page(request, rule)


@router.post("/{rule_id}")
async def update_rule(rule_id: int, request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    svc = get_services(request).actions(user.actor)
    rule = await run_in_threadpool(svc.get_rule, rule_id)
    try:
        patch = RulePatch.model_validate(
            {
                "verdict": f.get("verdict", ""),
                "review": checked(f, "review"),
                "notify": checked(f, "notify"),
                "report": checked(f, "report"),
            }
        )
        await run_in_threadpool(lambda: svc.update_rule(rule_id, **patch.model_dump()))
    except ValidationError as exc:
        return await _edit_page(request, rule, validation_messages(exc))
    except OhscError as exc:
        return await _edit_page(request, rule, [exc.message])
    return back(HERE, f"Saved rule {rule_id}.")


@router.post("/{rule_id}/delete")
async def delete_rule(rule_id: int, request: Request, user: AdminOnly) -> Response:
    await run_in_threadpool(get_services(request).actions(user.actor).delete_rule, rule_id)
    return back(HERE, f"Deleted rule {rule_id}.")


# --- bank policies ---------------------------------------------------------------------------


def _number(value: str) -> str | None:
    return value or None  # blank: unchanged; pydantic turns digits into numbers and says what is wrong


@router.post("/policies/{bank_id}")
async def set_policy(bank_id: int, request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    try:
        body = PolicyIn.model_validate(
            {
                "two_person_review": checked(f, "two_person_review"),
                "keep_thumbnails": checked(f, "keep_thumbnails"),
                "flood_max_matches": _number(f.get("flood_max_matches", "")),
                "flood_window_seconds": _number(f.get("flood_window_seconds", "")),
                "default_flood": checked(f, "default_flood"),
            }
        )
    except ValidationError as exc:
        return await _page(request, [f"bank {bank_id} policy: {m}" for m in validation_messages(exc)])
    svc = get_services(request).actions(user.actor)
    fields = body.model_dump()
    fields["clear_flood"] = fields.pop("default_flood")
    try:
        await run_in_threadpool(lambda: svc.set_policy(bank_id, **fields))
    except OhscError as exc:
        return await _page(request, [f"bank {bank_id} policy: {exc.message}"])
    return back(HERE, f"Saved the policy of bank {bank_id}.")


@router.post("/policies/{bank_id}/reset")
async def reset_policy(bank_id: int, request: Request, user: AdminOnly) -> Response:
    await run_in_threadpool(get_services(request).actions(user.actor).reset_policy, bank_id)
    return back(HERE, f"The policy of bank {bank_id} is back to the defaults.")
