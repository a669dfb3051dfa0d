"""Reading the queue: lists (what a reviewer is offered), one item with its context and
history, search, and whether a reviewer may take an item."""

from __future__ import annotations

from sqlalchemy import func, select

from ohsc import audit
from ohsc.accounts.models import UserRow
from ohsc.content.matchlog import match_record
from ohsc.content.models import MatchRecordRow
from ohsc.review import search as finding
from ohsc.review.base import ReviewBase, to_decision
from ohsc.review.model import ReviewDetail, Reviewer, ReviewItem, Status
from ohsc.review.models import UNBLURRED, EntryThumbnailRow, MediaRevealRow, ReviewDecisionRow, ReviewItemRow
from ohsc.review.queue import SORTS, QueueFilter, base_query, claimable, offered_to, sort_clauses, to_item
from ohsc.store.types import utcnow

SEARCH_LIMIT = 50


class ReviewReading(ReviewBase):
    def list_items(
        self,
        flt: QueueFilter,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
        reviewer: Reviewer | None = None,
        sort: str | None = None,
    ) -> list[ReviewItem]:
        """Newest first with ``before``; oldest first (queue order) with ``after``; or in a named
        ``sort`` (:data:`~ohsc.review.queue.SORTS`, one page: no cursor). With a ``reviewer``,
        "pending" lists only what they could take (not escalated items unless they are an admin,
        not the items they confirmed first)."""
        q = flt.apply(base_query())
        if reviewer is not None and flt.status == "pending":
            q = q.where(offered_to(reviewer))
        if sort is not None and sort in SORTS:
            q = q.order_by(*sort_clauses(sort))
        elif after is not None:
            q = q.where(ReviewItemRow.id > after).order_by(ReviewItemRow.id)
        else:
            if before is not None:
                q = q.where(ReviewItemRow.id < before)
            q = q.order_by(ReviewItemRow.id.desc())
        now = utcnow()
        with self.store.session() as s:
            return [to_item(r, c, self.claim_minutes, now) for r, c in s.execute(q.limit(limit)).all()]

    def can_claim(self, item: ReviewItem, reviewer: Reviewer) -> bool:
        return claimable(item, reviewer)

    def search(self, text: str, reviewer: Reviewer, *, limit: int = SEARCH_LIMIT) -> list[ReviewItem]:
        """Items, decided ones too, newest first (see :mod:`ohsc.review.search`). Audited."""
        query = finding.parse(text)
        q = base_query().where(finding.condition(query)).order_by(ReviewItemRow.id.desc()).limit(limit)
        now = utcnow()
        with self.store.session() as s:
            items = [to_item(r, c, self.claim_minutes, now) for r, c in s.execute(q).all()]
            audit.record(
                s,
                actor=reviewer.actor,
                action="review.search",
                object_type="review_item",
                details={"kind": query.kind, "query": query.text, "results": len(items)},
            )
        return items

    def detail(self, item_id: int) -> ReviewDetail:
        with self.store.session() as s:
            row, content = self._load(s, item_id)
            item = to_item(row, content, self.claim_minutes)
            records = list(
                s.scalars(
                    select(MatchRecordRow)
                    .where(MatchRecordRow.content_item_id == content.id)
                    .order_by(MatchRecordRow.distance, MatchRecordRow.id)
                )
            )
            decisions = s.scalars(
                select(ReviewDecisionRow)
                .where(ReviewDecisionRow.item_id == item_id)
                .order_by(ReviewDecisionRow.id)
            )
            viewed = s.scalar(
                select(func.count())
                .select_from(MediaRevealRow)
                .where(MediaRevealRow.item_id == item_id, MediaRevealRow.target.in_(UNBLURRED))
            )
            entry_ids = [r.entry_id for r in records]
            thumbs = (
                set(
                    s.scalars(
                        select(EntryThumbnailRow.entry_id).where(EntryThumbnailRow.entry_id.in_(entry_ids))
                    )
                )
                if entry_ids
                else set()
            )
            holder = (
                s.scalar(select(UserRow.name).where(UserRow.id == item.claimed_by))
                if item.claimed_by is not None and item.status is not Status.DECIDED
                else None
            )
            return ReviewDetail(
                item=item,
                matches=[match_record(r) for r in records],
                decisions=[to_decision(d) for d in decisions],
                signals=dict(content.signals),
                viewed_unblurred=bool(viewed),
                thumbnails=thumbs,
                claimed_by_name=holder,
            )
