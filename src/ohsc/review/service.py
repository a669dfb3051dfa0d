"""The review service: list, claim, view (blurred first), reveal, decide.

Decisions are final on ``confirm`` and ``not_abuse`` (two confirmations by different reviewers
where a matched bank asks for two-person review; a disagreement escalates). ``escalate`` sends
the item to the admins, ``skip`` hands it back. Every decision and every reveal is an audit
event; ``review.decided`` and ``review.confirmed`` events fire for hooks and webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.actions import events
from ohsc.banks.model import EntryInput, EntrySource
from ohsc.banks.service import BankService
from ohsc.content.media import REFERENCE, REVIEW
from ohsc.content.models import ContentRow, MatchRecordRow
from ohsc.errors import (
    ExposureLimitError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ReviewItemNotFoundError,
    ReviewStateError,
)
from ohsc.media.blobs import BlobStore
from ohsc.review.grants import GrantSigner
from ohsc.review.model import Choice, DecisionRecord, Exposure, ReviewDetail, Reviewer, ReviewItem, Status
from ohsc.review.models import EntryThumbnailRow, MediaRevealRow, ReviewDecisionRow, ReviewItemRow
from ohsc.review.queue import (
    QueueFilter,
    base_query,
    held_claim,
    next_candidates,
    to_item,
    try_claim,
)
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow

UTC_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Media:
    data: bytes
    media_kind: str | None
    media_format: str | None


def _to_decision(row: ReviewDecisionRow) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        item_id=row.item_id,
        actor=row.actor,
        decision=row.decision,
        note=row.note,
        viewed_unblurred=row.viewed_unblurred,
        added_to_bank_id=row.added_to_bank_id,
        at=row.at,
    )


def match_record(r: MatchRecordRow) -> dict[str, Any]:
    """A stored match as the API and the review pages show it."""
    return {
        "match_id": r.id,
        "bank": r.bank_name,
        "bank_id": r.bank_id,
        "entry_id": r.entry_id,
        "external_id": r.external_id,
        "signal_type": r.signal_type,
        "distance": r.distance,
        "threshold": r.threshold,
        "category": r.category,
        "labels": list(r.labels),
        "source": r.source,
        "kind": r.kind,
        "verdict": r.verdict,
        "flood_controlled": r.flood_controlled,
    }


def _start_of_day(now: datetime) -> datetime:
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


class ReviewService:
    def __init__(
        self, store: Store, settings: Settings, blobs: BlobStore | None, grants: GrantSigner
    ) -> None:
        self.store = store
        self.settings = settings
        self.blobs = blobs
        self.grants = grants
        self.claim_minutes = settings.review_claim_minutes

    # --- reading -----------------------------------------------------------------------------

    def list_items(
        self, flt: QueueFilter, *, before: int | None = None, after: int | None = None, limit: int = 50
    ) -> list[ReviewItem]:
        """Newest first with ``before``; oldest first (queue order) with ``after``."""
        q = flt.apply(base_query())
        if after is not None:
            q = q.where(ReviewItemRow.id > after).order_by(ReviewItemRow.id)
        else:
            if before is not None:
                q = q.where(ReviewItemRow.id < before)
            q = q.order_by(ReviewItemRow.id.desc())
        now = utcnow()
        with self.store.session() as s:
            return [to_item(r, c, self.claim_minutes, now) for r, c in s.execute(q.limit(limit)).all()]

    def _load(self, s: Session, item_id: int) -> tuple[ReviewItemRow, ContentRow]:
        found = s.execute(base_query().where(ReviewItemRow.id == item_id)).first()
        if found is None:
            raise ReviewItemNotFoundError(f"no review item {item_id}")
        return found[0], found[1]

    def get(self, item_id: int) -> ReviewItem:
        with self.store.session() as s:
            row, content = self._load(s, item_id)
            return to_item(row, content, self.claim_minutes)

    def detail(self, item_id: int) -> ReviewDetail:
        with self.store.session() as s:
            row, content = self._load(s, item_id)
            records = list(
                s.scalars(
                    select(MatchRecordRow)
                    .where(MatchRecordRow.content_item_id == content.id)
                    .order_by(MatchRecordRow.distance, MatchRecordRow.id)
                )
            )
            decisions = list(
                s.scalars(
                    select(ReviewDecisionRow)
                    .where(ReviewDecisionRow.item_id == item_id)
                    .order_by(ReviewDecisionRow.id)
                )
            )
            viewed = s.scalar(
                select(func.count())
                .select_from(MediaRevealRow)
                .where(MediaRevealRow.item_id == item_id, MediaRevealRow.target == "media")
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
            return ReviewDetail(
                item=to_item(row, content, self.claim_minutes),
                matches=[match_record(r) for r in records],
                decisions=[_to_decision(d) for d in decisions],
                signals=dict(content.signals),
                viewed_unblurred=bool(viewed),
                thumbnails=thumbs,
            )

    # --- claiming ----------------------------------------------------------------------------

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
                for item_id in candidates:
                    if try_claim(s, item_id, reviewer, self.claim_minutes):
                        won = item_id
                        break
                else:
                    continue
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

    # --- exposure and media ------------------------------------------------------------------

    def exposure(self, user_id: int) -> Exposure:
        now = utcnow()
        window = now - timedelta(minutes=self.settings.review_break_window_minutes)
        day = _start_of_day(now)
        with self.store.session() as s:
            today = s.scalar(
                select(func.count())
                .select_from(MediaRevealRow)
                .where(MediaRevealRow.user_id == user_id, MediaRevealRow.at >= day)
            )
            recent = s.scalar(
                select(func.count())
                .select_from(MediaRevealRow)
                .where(MediaRevealRow.user_id == user_id, MediaRevealRow.at >= window)
            )
            decided = s.scalar(
                select(func.count())
                .select_from(ReviewDecisionRow)
                .where(ReviewDecisionRow.user_id == user_id, ReviewDecisionRow.at >= day)
            )
        return Exposure(
            reveals_today=int(today or 0),
            decisions_today=int(decided or 0),
            daily_limit=self.settings.review_daily_reveal_limit,
            recent_reveals=int(recent or 0),
            break_after=self.settings.review_break_after_reveals,
            break_window_minutes=self.settings.review_break_window_minutes,
        )

    def _media_row(self, s: Session, item_id: int) -> tuple[ReviewItemRow, ContentRow]:
        row, content = self._load(s, item_id)
        if content.media_blob_id is None:
            raise NotFoundError(f"review item {item_id} holds no media")
        return row, content

    def reveal(
        self,
        item_id: int,
        reviewer: Reviewer,
        *,
        target: str = "media",
        entry_id: int | None = None,
        mode: str = "click",
    ) -> str:
        """Record that a reviewer is shown unblurred media; returns the grant that unlocks it."""
        if reviewer.user_id is None:
            raise InvalidInputError("only logged-in reviewers view media")
        if target not in ("media", "reference"):
            raise InvalidInputError("target is media or reference")
        mode = "hold" if mode == "hold" else "click"
        if self.exposure(reviewer.user_id).limit_reached:
            raise ExposureLimitError(
                f"daily limit of {self.settings.review_daily_reveal_limit} media views reached; "
                "media stays blurred until tomorrow"
            )
        with self.store.session() as s:
            if target == "media":
                row, _content = self._media_row(s, item_id)
            else:
                self._reference(s, item_id, entry_id)
                row, _content = self._load(s, item_id)
            holds = (
                row.claimed_by == reviewer.user_id
                and row.claimed_at is not None
                and row.claimed_at > utcnow() - timedelta(minutes=self.claim_minutes)
            )
            if not (holds or reviewer.is_admin):
                raise PermissionDeniedError("claim the item before revealing its media")
            s.add(
                MediaRevealRow(
                    item_id=item_id, user_id=reviewer.user_id, target=target, mode=mode, at=utcnow()
                )
            )
            audit.record(
                s,
                actor=reviewer.actor,
                action="media.reveal",
                object_type="review_item",
                object_id=item_id,
                details={"target": target, "entry_id": entry_id, "mode": mode},
            )
        key = target if entry_id is None else f"{target}-{entry_id}"
        return self.grants.make(item_id, key, reviewer.user_id)

    def media(self, item_id: int, reviewer: Reviewer, grant: str) -> Media:
        """The unblurred media, only with a valid reveal grant for this reviewer and item."""
        if reviewer.user_id is None or not self.grants.check(grant, item_id, "media", reviewer.user_id):
            raise PermissionDeniedError("reveal the media first")
        if self.blobs is None:
            raise NotFoundError("no content store")
        with self.store.session() as s:
            _row, content = self._media_row(s, item_id)
            blob_id, kind, fmt = content.media_blob_id, content.media_kind, content.media_format
        assert blob_id is not None
        return Media(self.blobs.get(REVIEW, blob_id), kind, fmt)

    def preview_source(self, item_id: int) -> Media:
        """The media bytes for making a blurred preview (never sent as they are)."""
        if self.blobs is None:
            raise NotFoundError("no content store")
        with self.store.session() as s:
            _row, content = self._media_row(s, item_id)
            blob_id, kind, fmt = content.media_blob_id, content.media_kind, content.media_format
        assert blob_id is not None
        return Media(self.blobs.get(REVIEW, blob_id), kind, fmt)

    def _reference(self, s: Session, item_id: int, entry_id: int | None) -> str:
        if entry_id is None:
            raise InvalidInputError("which entry's reference thumbnail?")
        matched = s.scalar(
            select(MatchRecordRow.id)
            .join(ReviewItemRow, ReviewItemRow.content_item_id == MatchRecordRow.content_item_id)
            .where(ReviewItemRow.id == item_id, MatchRecordRow.entry_id == entry_id)
            .limit(1)
        )
        thumb = s.get(EntryThumbnailRow, entry_id) if matched is not None else None
        if thumb is None:
            raise NotFoundError(f"no reference thumbnail for entry {entry_id} on item {item_id}")
        return thumb.blob_id

    def reference(
        self, item_id: int, entry_id: int, reviewer: Reviewer | None = None, grant: str | None = None
    ) -> bytes:
        """A bank's reference thumbnail: for a preview (no reviewer), or unblurred with a grant."""
        if reviewer is not None and (
            reviewer.user_id is None
            or grant is None
            or not self.grants.check(grant, item_id, f"reference-{entry_id}", reviewer.user_id)
        ):
            raise PermissionDeniedError("reveal the reference first")
        if self.blobs is None:
            raise NotFoundError("no content store")
        with self.store.session() as s:
            blob_id = self._reference(s, item_id, entry_id)
        return self.blobs.get(REFERENCE, blob_id)

    # --- deciding ----------------------------------------------------------------------------

    def _lock(self, s: Session, item_id: int) -> tuple[ReviewItemRow, ContentRow]:
        # a write first: it takes the row lock (PostgreSQL) or the write lock (SQLite) before we read
        touched = s.execute(
            update(ReviewItemRow).where(ReviewItemRow.id == item_id).values(updated_at=utcnow())
        )
        if getattr(touched, "rowcount", 0) != 1:
            raise ReviewItemNotFoundError(f"no review item {item_id}")
        return self._load(s, item_id)

    def decide(
        self,
        item_id: int,
        reviewer: Reviewer,
        choice: Choice | str,
        *,
        note: str | None = None,
        add_to_bank: str | int | None = None,
    ) -> ReviewItem:
        choice = Choice(choice) if isinstance(choice, str) else choice
        note = (note or "").strip()[:5000] or None
        banks = BankService(self.store, self.settings, actor=reviewer.actor)
        target_bank = None
        if add_to_bank is not None and add_to_bank != "":
            if choice not in (Choice.CONFIRM, Choice.NOT_ABUSE):
                raise InvalidInputError(
                    "only confirm (to a bank) or not_abuse (to an allowlist bank) add hashes"
                )
            target_bank = banks.get_bank(add_to_bank)
            if choice is Choice.CONFIRM and target_bank.is_allowlist:
                raise InvalidInputError(
                    f"bank {target_bank.name!r} is an allowlist: confirmed hashes go to a match bank"
                )
            if choice is Choice.NOT_ABUSE and not target_bank.is_allowlist:
                raise InvalidInputError(f"bank {target_bank.name!r} is not an allowlist bank")
        now = utcnow()
        add_signals: dict[str, str] = {}
        pdq_quality: int | None = None
        with self.store.session() as s:
            row, content = self._lock(s, item_id)
            status = Status(row.status)
            if status is Status.DECIDED:
                raise ReviewStateError(f"review item {item_id} is already decided ({row.decision})")
            claim_live = (
                row.claimed_by is not None
                and row.claimed_at is not None
                and row.claimed_at > now - timedelta(minutes=self.claim_minutes)
            )
            if claim_live and row.claimed_by != reviewer.user_id:
                raise ReviewStateError(f"review item {item_id} is claimed by another reviewer")
            if status is Status.ESCALATED and not reviewer.is_admin and choice is not Choice.SKIP:
                raise PermissionDeniedError("escalated items are decided by admins")
            viewed = False
            if reviewer.user_id is not None:
                viewed = bool(
                    s.scalar(
                        select(func.count())
                        .select_from(MediaRevealRow)
                        .where(
                            MediaRevealRow.item_id == item_id,
                            MediaRevealRow.user_id == reviewer.user_id,
                            MediaRevealRow.target == "media",
                        )
                    )
                )
            outcome = choice.value
            final = False
            if choice is Choice.SKIP:
                row.claimed_by, row.claimed_at = None, None
            elif choice is Choice.ESCALATE:
                row.status = Status.ESCALATED.value
                row.claimed_by, row.claimed_at = None, None
            elif choice is Choice.CONFIRM:
                if row.two_person and status is not Status.ESCALATED:
                    if row.first_confirmed_by is None:
                        row.first_confirmed_by = reviewer.actor
                        row.status = Status.AWAITING_SECOND.value
                        row.claimed_by, row.claimed_at = None, None
                        outcome = "confirm_first"
                    elif row.first_confirmed_by == reviewer.actor:
                        raise ReviewStateError("a second, different reviewer must confirm this item")
                    else:
                        final = True
                else:
                    final = True
            elif choice is Choice.NOT_ABUSE:
                if status is Status.AWAITING_SECOND:
                    # the second reviewer disagrees with the first: an admin decides
                    row.status = Status.ESCALATED.value
                    row.claimed_by, row.claimed_at = None, None
                    outcome = "disagreement"
                else:
                    final = True
            if final:
                row.status = Status.DECIDED.value
                row.decision = choice.value
                row.decided_by = reviewer.actor
                row.decided_at = now
                row.claimed_by, row.claimed_at = None, None
            row.updated_at = now
            added_to = target_bank.id if (target_bank is not None and final) else None
            decision_row = ReviewDecisionRow(
                item_id=item_id,
                user_id=reviewer.user_id,
                actor=reviewer.actor,
                decision=choice.value,
                note=note,
                viewed_unblurred=viewed,
                added_to_bank_id=added_to,
                at=now,
            )
            s.add(decision_row)
            s.flush()
            audit.record(
                s,
                actor=reviewer.actor,
                action="review.decide",
                object_type="review_item",
                object_id=item_id,
                details={
                    "decision": choice.value,
                    "outcome": outcome,
                    "final": final,
                    "viewed_unblurred": viewed,
                    "content_id": content.id,
                    "added_to_bank": added_to,
                    "note": bool(note),
                },
            )
            if choice is not Choice.SKIP:
                payload = self._payload(s, row, content, reviewer, decision_row, outcome)
                if final or outcome in ("disagreement", Choice.ESCALATE.value):
                    events.emit(s, events.REVIEW_DECIDED, payload)
                if final and choice is Choice.CONFIRM:
                    events.emit(s, events.REVIEW_CONFIRMED, payload)
            if added_to is not None:
                add_signals, pdq_quality = dict(content.signals), content.pdq_quality
        if added_to is not None and target_bank is not None and add_signals:
            self._add_to_bank(banks, target_bank.id, add_signals, pdq_quality, item_id)
        return self.get(item_id)

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
            .where(MediaRevealRow.item_id == row.id, MediaRevealRow.target == "media")
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

    def _add_to_bank(
        self, banks: BankService, bank_id: int, signals: dict[str, str], pdq_quality: int | None, item_id: int
    ) -> None:
        items = [
            EntryInput(
                signal_type=name,
                value=value,
                quality=pdq_quality if name == "pdq" else None,
                note=f"from review item {item_id}",
            )
            for name, value in sorted(signals.items())
        ]
        banks.add_entries(bank_id, items, source=EntrySource.REVIEW, source_ref=f"review:{item_id}")
