"""Action rules and bank policies: create, list, change, delete (each an audit event)."""

from __future__ import annotations

from sqlalchemy import select

from ohsc import audit
from ohsc.actions.models import ActionRuleRow, BankPolicyRow
from ohsc.actions.rules import Policy, Rule, Verdict, parse_verdict, to_policy, to_rule
from ohsc.banks.service import BankService
from ohsc.errors import ConflictError, InvalidInputError, RuleNotFoundError
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow


class ActionService:
    def __init__(self, store: Store, settings: Settings, actor: str = "cli") -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.banks = BankService(store, settings, actor)

    # --- rules -------------------------------------------------------------------------------

    def list_rules(self) -> list[Rule]:
        with self.store.session() as s:
            return [to_rule(r) for r in s.scalars(select(ActionRuleRow).order_by(ActionRuleRow.id))]

    def get_rule(self, rule_id: int) -> Rule:
        with self.store.session() as s:
            row = s.get(ActionRuleRow, rule_id)
            if row is None:
                raise RuleNotFoundError(f"no action rule {rule_id}")
            return to_rule(row)

    def create_rule(
        self,
        *,
        bank: str | int | None,
        category: str | None,
        verdict: str | Verdict,
        review: bool | None = None,
        notify: bool = True,
        report: bool = False,
    ) -> Rule:
        v = parse_verdict(verdict) if isinstance(verdict, str) else verdict
        bank_id = self.banks.get_bank(bank).id if bank is not None else None
        category = (category or "").strip() or None
        if category is not None and len(category) > 100:
            raise InvalidInputError("a category has at most 100 characters")
        with self.store.session() as s:
            clash = s.scalar(
                select(ActionRuleRow.id).where(
                    ActionRuleRow.bank_id.is_(None) if bank_id is None else ActionRuleRow.bank_id == bank_id,
                    ActionRuleRow.category.is_(None)
                    if category is None
                    else ActionRuleRow.category == category,
                )
            )
            if clash is not None:
                raise ConflictError(f"rule {clash} already covers this bank and category; change it instead")
            row = ActionRuleRow(
                bank_id=bank_id,
                category=category,
                verdict=v.value,
                review=(v is not Verdict.ALLOW) if review is None else review,
                notify=notify,
                report=report,
            )
            s.add(row)
            s.flush()
            audit.record(
                s,
                actor=self.actor,
                action="rule.create",
                object_type="action_rule",
                object_id=row.id,
                details=to_rule(row).to_dict(),
            )
            return to_rule(row)

    def update_rule(
        self,
        rule_id: int,
        *,
        verdict: str | Verdict | None = None,
        review: bool | None = None,
        notify: bool | None = None,
        report: bool | None = None,
    ) -> Rule:
        with self.store.session() as s:
            row = s.get(ActionRuleRow, rule_id)
            if row is None:
                raise RuleNotFoundError(f"no action rule {rule_id}")
            if verdict is not None:
                row.verdict = (parse_verdict(verdict) if isinstance(verdict, str) else verdict).value
            if review is not None:
                row.review = review
            if notify is not None:
                row.notify = notify
            if report is not None:
                row.report = report
            row.updated_at = utcnow()
            audit.record(
                s,
                actor=self.actor,
                action="rule.update",
                object_type="action_rule",
                object_id=row.id,
                details=to_rule(row).to_dict(),
            )
            return to_rule(row)

    def delete_rule(self, rule_id: int) -> None:
        with self.store.session() as s:
            row = s.get(ActionRuleRow, rule_id)
            if row is None:
                raise RuleNotFoundError(f"no action rule {rule_id}")
            audit.record(
                s,
                actor=self.actor,
                action="rule.delete",
                object_type="action_rule",
                object_id=row.id,
                details=to_rule(row).to_dict(),
            )
            s.delete(row)

    # --- bank policies -----------------------------------------------------------------------

    def get_policy(self, bank: str | int) -> Policy:
        bank_id = self.banks.get_bank(bank).id
        with self.store.session() as s:
            row = s.get(BankPolicyRow, bank_id)
            return to_policy(row) if row is not None else Policy(bank_id=bank_id)

    def list_policies(self) -> list[Policy]:
        """The banks' policies that differ from the defaults (banks without one use the defaults)."""
        with self.store.session() as s:
            return [to_policy(r) for r in s.scalars(select(BankPolicyRow).order_by(BankPolicyRow.bank_id))]

    def reset_policy(self, bank: str | int) -> Policy:
        """Back to the default policy (one person reviews, default flood limits, no thumbnails)."""
        bank_id = self.banks.get_bank(bank).id
        with self.store.session() as s:
            row = s.get(BankPolicyRow, bank_id)
            if row is not None:
                audit.record(
                    s,
                    actor=self.actor,
                    action="bank.policy_reset",
                    object_type="bank",
                    object_id=bank_id,
                    details=to_policy(row).to_dict(),
                )
                s.delete(row)
        return Policy(bank_id=bank_id)

    def set_policy(
        self,
        bank: str | int,
        *,
        two_person_review: bool | None = None,
        flood_max_matches: int | None = None,
        flood_window_seconds: int | None = None,
        keep_thumbnails: bool | None = None,
        clear_flood: bool = False,
    ) -> Policy:
        bank_id = self.banks.get_bank(bank).id
        if flood_max_matches is not None and flood_max_matches < 0:
            raise InvalidInputError("flood_max_matches must be 0 (off) or more")
        if flood_window_seconds is not None and flood_window_seconds < 1:
            raise InvalidInputError("flood_window_seconds must be at least 1")
        with self.store.session() as s:
            row = s.get(BankPolicyRow, bank_id)
            if row is None:
                row = BankPolicyRow(bank_id=bank_id, two_person_review=False, keep_thumbnails=False)
                s.add(row)
            if two_person_review is not None:
                row.two_person_review = two_person_review
            if clear_flood:
                row.flood_max_matches = None
                row.flood_window_seconds = None
            if flood_max_matches is not None:
                row.flood_max_matches = flood_max_matches
            if flood_window_seconds is not None:
                row.flood_window_seconds = flood_window_seconds
            if keep_thumbnails is not None:
                row.keep_thumbnails = keep_thumbnails
            row.updated_at = utcnow()
            s.flush()
            policy = to_policy(row)
            audit.record(
                s,
                actor=self.actor,
                action="bank.policy",
                object_type="bank",
                object_id=bank_id,
                details=policy.to_dict(),
            )
            return policy
