"""Claiming items: the next one in queue order, or a given one opened from the list."""

from __future__ import annotations

from sqlalchemy import update

from ohsc.errors import InvalidInputError, PermissionDeniedError, ReviewStateError
from ohsc.review.base import ReviewBase
from ohsc.review.model import Reviewer, ReviewItem, Status
from ohsc.review.models import ReviewItemRow
from ohsc.review.queue import QueueFilter, held_claim, next_candidates, try_claim


class ReviewClaims(ReviewBase):
    def claim_next(self, reviewer: Reviewer, flt: QueueFilter | None = None) -> ReviewItem | None:
        """The item this reviewer holds, else the most urgent unclaimed one (claimed now)."""
        if reviewer.user_id is None:
            raise InvalidInputError("only logged-in reviewers claim items")
        flt = flt or QueueFilter()
        with self.store.session() as s:
            held = held_claim(s, reviewer, self.claim_minutes)
        if held is not None:
            return self.get(held)
        for _round in range(5):
            with self.store.session() as s:
                candidates = next_candidates(s, reviewer, flt, self.claim_minutes, self.store.dialect)
                if not candidates:
                    return None
                won = next((i for i in candidates if try_claim(s, i, reviewer, self.claim_minutes)), None)
            if won is not None:
                return self.get(won)
        return None

    def claim(self, item_id: int, reviewer: Reviewer) -> ReviewItem:
        """Claim a given item (opening it from the list); refused while someone else holds it."""
        if reviewer.user_id is None:
            raise InvalidInputError("only logged-in reviewers claim items")
        with self.store.session() as s:
            row, _content = self._load(s, item_id)
            if row.status == Status.DECIDED.value:
                raise ReviewStateError(f"review item {item_id} is already decided")
            if row.status == Status.ESCALATED.value and not reviewer.is_admin:
                raise PermissionDeniedError("escalated items are for admins")
            if row.status == Status.AWAITING_SECOND.value and row.first_confirmed_by == reviewer.actor:
                raise ReviewStateError("you confirmed this item already; a second reviewer must confirm it")
            if not try_claim(s, item_id, reviewer, self.claim_minutes):
                raise ReviewStateError(f"review item {item_id} is claimed by another reviewer")
        return self.get(item_id)

    def release(self, item_id: int, reviewer: Reviewer) -> None:
        with self.store.session() as s:
            s.execute(
                update(ReviewItemRow)
                .where(ReviewItemRow.id == item_id, ReviewItemRow.claimed_by == reviewer.user_id)
                .values(claimed_by=None, claimed_at=None)
            )
