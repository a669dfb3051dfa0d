"""Action rules: what a match does, per bank and category, and flood control.

The most specific rule wins: bank + category, then bank, then category, then a rule for every
bank, then the built-in default (``OHSC_DEFAULT_VERDICT``, review item, webhook, no report).
Allowlist matches always mean ``allow``. When one entry matches more than a bank's flood limit
within its window, its ``block`` verdicts turn into ``review`` (a sudden flood is more often a
bad hash than a real wave, and a human should look before thousands of uploads are blocked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ohsc.actions.models import ActionRuleRow, BankPolicyRow
from ohsc.content.models import MatchRecordRow
from ohsc.errors import InvalidInputError
from ohsc.matching.model import Match
from ohsc.settings import Settings
from ohsc.store.types import utcnow


class Verdict(StrEnum):
    """What the caller should do with the content. Values are storage keys."""

    BLOCK = "block"
    REVIEW = "review"
    ALLOW = "allow"
    #: nothing matched
    NONE = "none"


SEVERITY = {Verdict.NONE: 0, Verdict.ALLOW: 1, Verdict.REVIEW: 2, Verdict.BLOCK: 3}


def parse_verdict(value: str) -> Verdict:
    try:
        v = Verdict(value.strip().lower())
    except ValueError:
        v = Verdict.NONE
    if v is Verdict.NONE:
        raise InvalidInputError(f"verdict must be block, review or allow (got {value!r})")
    return v


class Rule(BaseModel):
    """An action rule: what a match in a bank (and category) leads to. Declared once: the library,
    the audit log and the API (``/v1/rules``) all use this model."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int | None
    bank_id: int | None = Field(description="Null: every bank.")
    category: str | None = Field(description="Null: every category.")
    verdict: Verdict
    review: bool
    notify: bool
    report: bool

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Policy(BaseModel):
    """A bank's review and flood policy (the library's and ``/v1/banks/{bank}/policy``'s shape)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    bank_id: int
    two_person_review: bool = False
    flood_max_matches: int | None = None
    flood_window_seconds: int | None = None
    keep_thumbnails: bool = False

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def to_rule(row: ActionRuleRow) -> Rule:
    return Rule.model_validate(row)


def to_policy(row: BankPolicyRow) -> Policy:
    return Policy.model_validate(row)


def default_rule(settings: Settings) -> Rule:
    verdict = Verdict(settings.default_verdict)
    return Rule(
        id=None,
        bank_id=None,
        category=None,
        verdict=verdict,
        review=verdict is not Verdict.ALLOW,
        notify=True,
        report=False,
    )


def pick_rule(rules: Sequence[Rule], bank_id: int, category: str | None, fallback: Rule) -> Rule:
    best: tuple[int, Rule] | None = None
    for rule in rules:
        if rule.bank_id is not None and rule.bank_id != bank_id:
            continue
        if rule.category is not None and rule.category != category:
            continue
        score = (2 if rule.bank_id is not None else 0) + (1 if rule.category is not None else 0)
        if best is None or score > best[0]:
            best = (score, rule)
    return best[1] if best else fallback


@dataclass(slots=True)
class MatchAction:
    match: Match
    rule: Rule
    verdict: Verdict
    flood_controlled: bool = False


@dataclass(slots=True)
class Decision:
    """What the matches of one piece of content lead to."""

    verdict: Verdict = Verdict.NONE
    actions: list[MatchAction] = field(default_factory=list)
    review: bool = False
    notify: bool = False
    report: bool = False
    two_person: bool = False
    flood_controlled: bool = False
    #: entries whose flood limit was crossed by this very match (audited once)
    flood_started: list[int] = field(default_factory=list)


def load_rules(session: Session) -> list[Rule]:
    return [to_rule(r) for r in session.scalars(select(ActionRuleRow))]


def load_policies(session: Session, bank_ids: Sequence[int]) -> dict[int, Policy]:
    if not bank_ids:
        return {}
    rows = session.scalars(select(BankPolicyRow).where(BankPolicyRow.bank_id.in_(list(bank_ids))))
    return {r.bank_id: to_policy(r) for r in rows}


def decide(
    session: Session, settings: Settings, matches: Sequence[Match], allowlisted: Sequence[Match]
) -> Decision:
    """Apply rules, policies and flood control to one item's matches."""
    decision = Decision()
    if allowlisted and not matches:
        decision.verdict = Verdict.ALLOW
        return decision
    if not matches:
        return decision
    rules = load_rules(session)
    fallback = default_rule(settings)
    policies = load_policies(session, sorted({m.bank_id for m in matches}))
    now = utcnow()
    for m in matches:
        rule = pick_rule(rules, m.bank_id, m.category, fallback)
        action = MatchAction(m, rule, rule.verdict)
        policy = policies.get(m.bank_id) or Policy(bank_id=m.bank_id)
        if rule.verdict is Verdict.BLOCK:
            limit = (
                policy.flood_max_matches
                if policy.flood_max_matches is not None
                else settings.flood_max_matches
            )
            window = policy.flood_window_seconds or settings.flood_window_seconds
            if limit > 0:
                recent = session.scalar(
                    select(func.count())
                    .select_from(MatchRecordRow)
                    .where(
                        MatchRecordRow.entry_id == m.entry_id,
                        MatchRecordRow.kind == "match",
                        MatchRecordRow.created_at > now - timedelta(seconds=window),
                    )
                )
                if int(recent or 0) >= limit:
                    action.verdict = Verdict.REVIEW
                    action.flood_controlled = True
                    decision.flood_controlled = True
                    if int(recent or 0) == limit:
                        decision.flood_started.append(m.entry_id)
        decision.actions.append(action)
        if SEVERITY[action.verdict] > SEVERITY[decision.verdict]:
            decision.verdict = action.verdict
        decision.review |= rule.review or action.flood_controlled
        decision.notify |= rule.notify
        decision.report |= rule.report
        decision.two_person |= policy.two_person_review
    return decision
