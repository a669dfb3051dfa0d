"""Deciding an item: check, change its state, add its hashes to a bank, record the decision
and tell hooks and webhooks, all in one transaction (a failure anywhere records nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.actions import events
from ohsc.banks.model import Bank
from ohsc.banks.service import BankService
from ohsc.content.matchlog import match_record
from ohsc.content.models import ContentRow, MatchRecordRow
from ohsc.errors import InvalidInputError
from ohsc.review import bank_effects, transitions
from ohsc.review.base import ReviewBase
from ohsc.review.model import Choice, Reviewer, ReviewItem
from ohsc.review.models import UNBLURRED, MediaRevealRow, ReviewDecisionRow, ReviewItemRow
from ohsc.review.viewing import end_open_reveals
from ohsc.store.types import utcnow

NOTE_CHARS = 5000


class ReviewDeciding(ReviewBase):
    def decide(
        self,
        item_id: int,
        reviewer: Reviewer,
        choice: Choice | str,
        *,
        note: str | None = None,
        add_to_bank: str | int | None = None,
    ) -> ReviewItem:
        """Decide an item. With ``add_to_bank`` a final confirm adds the content's hashes to that
        bank (not abuse: to that allowlist bank) in the same transaction as the decision."""
        choice = Choice(choice)
        note = (note or "").strip()[:NOTE_CHARS] or None
        banks = BankService(self.store, self.settings, actor=reviewer.actor)
        target = self._bank_target(banks, choice, add_to_bank)
        now = utcnow()
        with self.store.session() as s:
            row, content = self._lock(s, item_id)
            self._decide_locked(s, row, content, reviewer, choice, note, banks, target, now)
        return self.get(item_id)

    def _decide_locked(
        self,
        s: Session,
        row: ReviewItemRow,
        content: ContentRow,
        reviewer: Reviewer,
        choice: Choice,
        note: str | None,
        banks: BankService,
        target: Bank | None,
        now: datetime,
    ) -> transitions.Step:
        """The checks and effects of one decision on a locked item (single and bulk decisions)."""
        transitions.check_may_decide(row, reviewer, choice, self._claim_live(row, now))
        prior = transitions.snapshot(row)
        step = transitions.apply(row, choice, reviewer, now)
        added_to = target.id if (target is not None and step.final) else None
        decision = self._record(s, row, content, reviewer, choice, note, step, added_to, prior, now)
        if reviewer.user_id is not None:
            end_open_reveals(s, row.id, reviewer.user_id, now)
        if added_to is not None:
            decision.added_entry_ids = bank_effects.add_content(s, banks, added_to, content, row.id)
        if step.announced:
            self._announce(s, row, content, reviewer, decision, step)
        return step

    def _bank_target(self, banks: BankService, choice: Choice, ref: str | int | None) -> Bank | None:
        if ref is None or ref == "":
            return None
        if choice not in (Choice.CONFIRM, Choice.NOT_ABUSE):
            raise InvalidInputError("only confirm (to a bank) or not_abuse (to an allowlist bank) add hashes")
        bank = banks.get_bank(ref)
        if choice is Choice.CONFIRM and bank.is_allowlist:
            raise InvalidInputError(
                f"bank {bank.name!r} is an allowlist: confirmed hashes go to a match bank"
            )
        if choice is Choice.NOT_ABUSE and not bank.is_allowlist:
            raise InvalidInputError(f"bank {bank.name!r} is not an allowlist bank")
        return bank

    def _claim_live(self, row: ReviewItemRow, now: datetime) -> bool:
        return (
            row.claimed_by is not None
            and row.claimed_at is not None
            and row.claimed_at > now - timedelta(minutes=self.claim_minutes)
        )

    def _viewed(self, s: Session, item_id: int, reviewer: Reviewer) -> bool:
        """Whether this reviewer revealed the item's media."""
        if reviewer.user_id is None:
            return False
        seen = s.scalar(
            select(func.count())
            .select_from(MediaRevealRow)
            .where(
                MediaRevealRow.item_id == item_id,
                MediaRevealRow.user_id == reviewer.user_id,
                MediaRevealRow.target.in_(UNBLURRED),
            )
        )
        return bool(seen)

    def _record(
        self,
        s: Session,
        row: ReviewItemRow,
        content: ContentRow,
        reviewer: Reviewer,
        choice: Choice,
        note: str | None,
        step: transitions.Step,
        added_to: int | None,
        prior: dict[str, Any],
        now: datetime,
    ) -> ReviewDecisionRow:
        """The decision row (the item's history) and its audit event."""
        viewed = self._viewed(s, row.id, reviewer)
        decision = ReviewDecisionRow(
            item_id=row.id,
            user_id=reviewer.user_id,
            actor=reviewer.actor,
            decision=choice.value,
            note=note,
            viewed_unblurred=viewed,
            added_to_bank_id=added_to,
            prior_state=prior,
            at=now,
        )
        s.add(decision)
        s.flush()
        audit.record(
            s,
            actor=reviewer.actor,
            action="review.decide",
            object_type="review_item",
            object_id=row.id,
            details={
                "decision": choice.value,
                "decision_id": decision.id,
                "outcome": step.outcome,
                "final": step.final,
                "viewed_unblurred": viewed,
                "content_id": content.id,
                "added_to_bank": added_to,
                "note": bool(note),
            },
        )
        return decision

    def _announce(
        self,
        s: Session,
        row: ReviewItemRow,
        content: ContentRow,
        reviewer: Reviewer,
        decision: ReviewDecisionRow,
        step: transitions.Step,
    ) -> None:
        payload = self._payload(s, row, content, reviewer, decision, step.outcome)
        events.emit(s, events.REVIEW_DECIDED, payload)
        if step.final and decision.decision == Choice.CONFIRM.value:
            events.emit(s, events.REVIEW_CONFIRMED, payload)

    def _payload(
        self,
        s: Session,
        row: ReviewItemRow,
        content: ContentRow,
        reviewer: Reviewer,
        decision: ReviewDecisionRow,
        outcome: str,
    ) -> dict[str, Any]:
        records = s.scalars(
            select(MatchRecordRow).where(
                MatchRecordRow.content_item_id == content.id, MatchRecordRow.kind == "match"
            )
        )
        viewers = s.execute(
            select(MediaRevealRow.user_id)
            .where(MediaRevealRow.item_id == row.id, MediaRevealRow.target.in_(UNBLURRED))
            .distinct()
        ).scalars()
        confirmers = [a for a in (row.first_confirmed_by, reviewer.actor) if a]
        return {
            "review_item_id": row.id,
            "content_id": content.id,
            "client_content_id": content.client_ref,
            "decision": decision.decision,
            "outcome": outcome,
            "status": row.status,
            "decided_by": reviewer.actor,
            "confirmed_by": sorted(set(confirmers)) if decision.decision == Choice.CONFIRM.value else [],
            "decision_id": decision.id,
            "viewed_unblurred": decision.viewed_unblurred,
            "viewed_unblurred_by_user_ids": sorted(set(viewers)),
            "report_requested": row.report_requested,
            "two_person": row.two_person,
            "media_held": content.media_blob_id is not None,
            "signals": dict(content.signals),
            "matches": [match_record(r) for r in records],
        }
