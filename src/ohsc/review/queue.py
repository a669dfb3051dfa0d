"""The review queue: items are created with their content record, listed, and claimed.

Claiming never hands one item to two reviewers: on PostgreSQL the candidates are read with
``FOR UPDATE SKIP LOCKED``; everywhere the claim itself is a conditional ``UPDATE`` that only
succeeds while the item is unclaimed (or its claim expired), so the loser simply takes the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ohsc.actions.rules import Decision, Verdict
from ohsc.content.models import ContentRow, MatchRecordRow
from ohsc.review import search as finding
from ohsc.review.model import Choice, Reviewer, ReviewItem, Status
from ohsc.review.models import ReviewDecisionRow, ReviewItemRow
from ohsc.store.types import utcnow

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")

#: a skipped item stays out of that reviewer's "next" for this long
SKIP_MEMORY = timedelta(hours=24)


def priority_of(decision: Decision) -> int:
    if decision.flood_controlled:
        return 3
    return 2 if decision.verdict is Verdict.BLOCK else 1


def create_item(
    s: Session, content: ContentRow, decision: Decision, records: Sequence[MatchRecordRow]
) -> ReviewItemRow:
    """Queue a content record for review (in the caller's transaction)."""
    item = ReviewItemRow(
        content_item_id=content.id,
        status=Status.OPEN.value,
        priority=priority_of(decision),
        reason="flood" if decision.flood_controlled else "rule",
        bank_names=sorted({r.bank_name for r in records}),
        categories=sorted({r.category for r in records if r.category}),
        best_distance=min((r.distance for r in records), default=0),
        two_person=decision.two_person,
        report_requested=decision.report,
    )
    s.add(item)
    s.flush()
    return item


def to_item(
    row: ReviewItemRow, content: ContentRow, claim_minutes: int, now: datetime | None = None
) -> ReviewItem:
    now = now or utcnow()
    expires = None
    if row.claimed_by is not None and row.claimed_at is not None:
        candidate = row.claimed_at + timedelta(minutes=claim_minutes)
        expires = candidate if candidate > now else None
    return ReviewItem(
        id=row.id,
        content_item_id=row.content_item_id,
        client_content_id=content.client_ref,
        status=Status(row.status),
        priority=row.priority,
        reason=row.reason,
        verdict=content.verdict,
        bank_names=tuple(row.bank_names),
        categories=tuple(row.categories),
        best_distance=row.best_distance,
        two_person=row.two_person,
        report_requested=row.report_requested,
        claimed_by=row.claimed_by if expires else None,
        claimed_at=row.claimed_at if expires else None,
        claim_expires_at=expires,
        first_confirmed_by=row.first_confirmed_by,
        decision=row.decision,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
        has_media=content.media_blob_id is not None,
        media_kind=content.media_kind,
        media_format=content.media_format,
        media_purged=content.media_purged_at is not None,
        received_at=content.submitted_at,
        media_size=content.size,
    )


def claimable(item: ReviewItem, reviewer: Reviewer) -> bool:
    """Whether this reviewer may take the item now (what the queue offers them)."""
    if item.status is Status.DECIDED or reviewer.user_id is None:
        return False
    if item.status is Status.ESCALATED and not reviewer.is_admin:
        return False
    if item.status is Status.AWAITING_SECOND and item.first_confirmed_by == reviewer.actor:
        return False
    return item.claim_expires_at is None or item.claimed_by == reviewer.user_id


def offered_to(reviewer: Reviewer) -> ColumnElement[bool]:
    """A condition on review items: those a reviewer could claim, by status (claims aside)."""
    return and_(
        ReviewItemRow.status.in_(claimable_statuses(reviewer)),
        or_(
            ReviewItemRow.status != Status.AWAITING_SECOND.value,
            ReviewItemRow.first_confirmed_by.is_(None),
            ReviewItemRow.first_confirmed_by != reviewer.actor,
        ),
    )


@dataclass(frozen=True, slots=True)
class QueueFilter:
    #: a status, or "pending" (every status but decided)
    status: str | None = None
    bank: str | None = None
    category: str | None = None
    reason: str | None = None
    claimed_by: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: a search (:mod:`ohsc.review.search`): an item number, content id, hash or bank entry
    text: str | None = None

    def apply(self, q: S) -> S:
        if self.text:
            q = q.where(finding.condition(finding.parse(self.text)))
        if self.status == "pending":
            q = q.where(ReviewItemRow.status != Status.DECIDED.value)
        elif self.status:
            q = q.where(ReviewItemRow.status == Status(self.status).value)
        if self.bank:
            q = q.where(
                exists().where(
                    MatchRecordRow.content_item_id == ReviewItemRow.content_item_id,
                    MatchRecordRow.bank_name == self.bank,
                    MatchRecordRow.kind == "match",
                )
            )
        if self.category:
            q = q.where(
                exists().where(
                    MatchRecordRow.content_item_id == ReviewItemRow.content_item_id,
                    MatchRecordRow.category == self.category,
                    MatchRecordRow.kind == "match",
                )
            )
        if self.reason:
            q = q.where(ReviewItemRow.reason == self.reason)
        if self.claimed_by is not None:
            q = q.where(ReviewItemRow.claimed_by == self.claimed_by)
        if self.since is not None:
            q = q.where(ReviewItemRow.created_at >= self.since)
        if self.until is not None:
            q = q.where(ReviewItemRow.created_at < self.until)
        return q


def _first_match(column: Any) -> Any:
    """The smallest value of a match column (bank name, category) for the item: a sort key."""
    return (
        select(func.min(column))
        .where(
            MatchRecordRow.content_item_id == ReviewItemRow.content_item_id, MatchRecordRow.kind == "match"
        )
        .scalar_subquery()
    )


#: queue orders by name: (label, order-by clauses); "queue" is the order "next" takes them in
SORTS: dict[str, str] = {
    "queue": "queue order",
    "distance": "closest match first",
    "age": "oldest first",
    "newest": "newest first",
    "bank": "bank",
    "category": "category",
}


def sort_clauses(sort: str) -> list[Any]:
    if sort == "distance":
        return [ReviewItemRow.best_distance, ReviewItemRow.id]
    if sort == "age":
        return [ReviewItemRow.created_at, ReviewItemRow.id]
    if sort == "newest":
        return [ReviewItemRow.created_at.desc(), ReviewItemRow.id.desc()]
    if sort == "bank":
        return [_first_match(MatchRecordRow.bank_name), ReviewItemRow.id]
    if sort == "category":
        return [_first_match(MatchRecordRow.category), ReviewItemRow.id]
    return [ReviewItemRow.priority.desc(), ReviewItemRow.id]


def base_query() -> Select[ReviewItemRow, ContentRow]:
    return select(ReviewItemRow, ContentRow).join(ContentRow, ContentRow.id == ReviewItemRow.content_item_id)


def claimable_statuses(reviewer: Reviewer) -> list[str]:
    statuses = [Status.OPEN.value, Status.AWAITING_SECOND.value]
    if reviewer.is_admin:
        statuses.append(Status.ESCALATED.value)
    return statuses


def held_claim(s: Session, reviewer: Reviewer, claim_minutes: int) -> int | None:
    """The item this reviewer holds an unexpired claim on, if any."""
    if reviewer.user_id is None:
        return None
    cutoff = utcnow() - timedelta(minutes=claim_minutes)
    return s.scalar(
        select(ReviewItemRow.id)
        .where(
            ReviewItemRow.claimed_by == reviewer.user_id,
            ReviewItemRow.claimed_at > cutoff,
            ReviewItemRow.status != Status.DECIDED.value,
        )
        .order_by(ReviewItemRow.id)
        .limit(1)
    )


def try_claim(s: Session, item_id: int, reviewer: Reviewer, claim_minutes: int) -> bool:
    """Claim one item if nobody else holds it; True on success. Atomic on both databases."""
    assert reviewer.user_id is not None
    now = utcnow()
    cutoff = now - timedelta(minutes=claim_minutes)
    result = s.execute(
        update(ReviewItemRow)
        .where(
            ReviewItemRow.id == item_id,
            ReviewItemRow.status.in_(claimable_statuses(reviewer)),
            or_(
                ReviewItemRow.claimed_by.is_(None),
                ReviewItemRow.claimed_at <= cutoff,
                ReviewItemRow.claimed_by == reviewer.user_id,
            ),
        )
        .values(claimed_by=reviewer.user_id, claimed_at=now)
    )
    return getattr(result, "rowcount", 0) == 1


def next_candidates(
    s: Session, reviewer: Reviewer, flt: QueueFilter, claim_minutes: int, dialect: str, limit: int = 8
) -> list[int]:
    cutoff = utcnow() - timedelta(minutes=claim_minutes)
    skipped = exists().where(
        ReviewDecisionRow.item_id == ReviewItemRow.id,
        ReviewDecisionRow.actor == reviewer.actor,
        ReviewDecisionRow.decision == Choice.SKIP.value,
        ReviewDecisionRow.undone_at.is_(None),
        ReviewDecisionRow.at > utcnow() - SKIP_MEMORY,
    )
    q = (
        flt.apply(select(ReviewItemRow.id))
        .where(
            offered_to(reviewer),
            or_(ReviewItemRow.claimed_by.is_(None), ReviewItemRow.claimed_at <= cutoff),
            ~skipped,
        )
        .order_by(ReviewItemRow.priority.desc(), ReviewItemRow.id)
        .limit(limit)
    )
    if dialect == "postgresql":
        q = q.with_for_update(of=ReviewItemRow, skip_locked=True)
    return list(s.scalars(q))
