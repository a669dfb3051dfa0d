"""Taking a decision back: a reviewer's own undo within ``OHSC_REVIEW_UNDO_SECONDS``, and a
reopen of a decided item, later, by any reviewer, with a reason.

Both restore what the decision changed in one transaction: the item's state, and the bank
entries the decision added (withdrawn; entries that were in a bank before stay). Both are
entries of the item's history (``undo``, ``reopen`` with its reason), audit events
(``review.undo``, ``review.reopen``) and domain events (``review.undone``, ``review.reopened``)
for hooks and webhooks that acted on the decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.actions import events
from ohsc.banks.service import BankService
from ohsc.content.models import ContentRow
from ohsc.errors import InvalidInputError, ReviewStateError
from ohsc.review import bank_effects, transitions
from ohsc.review.base import ReviewBase
from ohsc.review.model import DECISIONS, Correction, Reviewer, ReviewItem, Status, Undoable
from ohsc.review.models import ReviewDecisionRow, ReviewItemRow
from ohsc.review.queue import try_claim
from ohsc.store.types import utcnow

REASON_CHARS = 2000


class ReviewCorrections(ReviewBase):
    @property
    def undo_window(self) -> timedelta:
        return timedelta(seconds=self.settings.review_undo_seconds)

    def _latest_on_item(self, s: Session, item_id: int) -> ReviewDecisionRow | None:
        return s.scalars(
            select(ReviewDecisionRow)
            .where(ReviewDecisionRow.item_id == item_id)
            .order_by(ReviewDecisionRow.id.desc())
            .limit(1)
        ).first()

    def undoable(self, reviewer: Reviewer) -> Undoable | None:
        """The reviewer's latest decision while they may still undo it: the last thing they did
        (an undo is not undone in turn), within the window, and still the item's latest entry."""
        with self.store.session() as s:
            last = s.scalars(
                select(ReviewDecisionRow)
                .where(ReviewDecisionRow.actor == reviewer.actor)
                .order_by(ReviewDecisionRow.id.desc())
                .limit(1)
            ).first()
            if last is None or not self._may_undo(s, last, utcnow()):
                return None
            return Undoable(
                item_id=last.item_id,
                decision_id=last.id,
                decision=last.decision,
                at=last.at,
                expires_at=last.at + self.undo_window,
            )

    def _may_undo(self, s: Session, row: ReviewDecisionRow, now: datetime) -> bool:
        if row.decision not in DECISIONS or row.undone_at is not None or row.at <= now - self.undo_window:
            return False
        latest = self._latest_on_item(s, row.item_id)
        return latest is not None and latest.id == row.id

    def undo(self, item_id: int, reviewer: Reviewer) -> ReviewItem:
        """Take back this reviewer's latest decision on the item; it is theirs again to decide."""
        now = utcnow()
        with self.store.session() as s:
            row, content = self._lock(s, item_id)
            last = self._latest_on_item(s, item_id)
            if last is None or last.actor != reviewer.actor or last.decision not in DECISIONS:
                raise ReviewStateError(f"nothing of yours to undo on review item {item_id}")
            if last.undone_at is not None:
                raise ReviewStateError(f"your decision on review item {item_id} was undone already")
            if last.at <= now - self.undo_window:
                raise ReviewStateError(
                    f"the {self.settings.review_undo_seconds} s to undo have passed: "
                    "reopen the item with a reason instead"
                )
            if self._held_by_other(row, reviewer, now):
                raise ReviewStateError(f"review item {item_id} is claimed by another reviewer now")
            transitions.restore(row, last.prior_state or {}, reviewer, now)
            last.undone_at = now
            withdrawn = self._withdraw(s, reviewer, last, f"decision #{last.id} undone")
            entry = self._history(s, row, reviewer, Correction.UNDO, None, now)
            details = {"decision_id": last.id, "decision": last.decision, "withdrawn_entries": withdrawn}
            self._tell(s, row, content, reviewer, entry, Correction.UNDO, details)
        return self.get(item_id)

    def reopen(self, item_id: int, reviewer: Reviewer, reason: str) -> ReviewItem:
        """Send a decided item back to the queue (an escalated one back to the admins), with a
        reason shown in its history; what its decision added to banks is withdrawn."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInputError("reopening an item needs a reason")
        if len(reason) > REASON_CHARS:
            raise InvalidInputError(f"the reason is longer than {REASON_CHARS} characters")
        now = utcnow()
        with self.store.session() as s:
            row, content = self._lock(s, item_id)
            if row.status != Status.DECIDED.value:
                raise ReviewStateError(f"review item {item_id} is not decided: nothing to reopen")
            final = s.scalars(
                select(ReviewDecisionRow)
                .where(
                    ReviewDecisionRow.item_id == item_id,
                    ReviewDecisionRow.decision == row.decision,
                    ReviewDecisionRow.undone_at.is_(None),
                )
                .order_by(ReviewDecisionRow.id.desc())
                .limit(1)
            ).first()
            previous = row.decision
            transitions.reopen(row, final.prior_state if final else None, now)
            withdrawn = self._withdraw(s, reviewer, final, "reopened") if final else []
            entry = self._history(s, row, reviewer, Correction.REOPEN, reason, now)
            details = {
                "decision_id": final.id if final else None,
                "decision": previous,
                "withdrawn_entries": withdrawn,
            }
            self._tell(s, row, content, reviewer, entry, Correction.REOPEN, details)
        if reviewer.user_id is not None:  # on the reopener's screen, where they may take it
            with self.store.session() as s:
                try_claim(s, item_id, reviewer, self.claim_minutes)
        return self.get(item_id)

    def _held_by_other(self, row: ReviewItemRow, reviewer: Reviewer, now: datetime) -> bool:
        live = row.claimed_at is not None and row.claimed_at > now - timedelta(minutes=self.claim_minutes)
        return live and row.claimed_by is not None and row.claimed_by != reviewer.user_id

    def _withdraw(self, s: Session, reviewer: Reviewer, decision: ReviewDecisionRow, why: str) -> list[int]:
        if not decision.added_entry_ids:
            return []
        banks = BankService(self.store, self.settings, actor=reviewer.actor)
        reason = bank_effects.withdrawal_reason(decision.item_id, why)
        return bank_effects.withdraw(s, banks, decision.added_entry_ids, reason, item_id=decision.item_id)

    def _history(
        self,
        s: Session,
        row: ReviewItemRow,
        reviewer: Reviewer,
        kind: Correction,
        note: str | None,
        now: datetime,
    ) -> ReviewDecisionRow:
        entry = ReviewDecisionRow(
            item_id=row.id,
            user_id=reviewer.user_id,
            actor=reviewer.actor,
            decision=kind.value,
            note=note,
            viewed_unblurred=False,
            at=now,
        )
        s.add(entry)
        s.flush()
        return entry

    def _tell(
        self,
        s: Session,
        row: ReviewItemRow,
        content: ContentRow,
        reviewer: Reviewer,
        entry: ReviewDecisionRow,
        kind: Correction,
        details: dict[str, Any],
    ) -> None:
        """The audit event (identifiers only: a reason stays in the history) and the domain event."""
        audit.record(
            s,
            actor=reviewer.actor,
            action=f"review.{kind.value}",
            object_type="review_item",
            object_id=row.id,
            details={**details, "history_id": entry.id, "status": row.status, "content_id": content.id},
        )
        event = events.REVIEW_UNDONE if kind is Correction.UNDO else events.REVIEW_REOPENED
        events.emit(
            s,
            event,
            {
                "review_item_id": row.id,
                "content_id": content.id,
                "client_content_id": content.client_ref,
                "status": row.status,
                "by": reviewer.actor,
                **details,
            },
        )
