"""Seeing as little as possible: exposure counters, recorded reveals, grant-checked media, and
bank reference thumbnails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.content.media import REFERENCE, REVIEW
from ohsc.content.models import ContentRow, MatchRecordRow
from ohsc.errors import ExposureLimitError, InvalidInputError, NotFoundError, PermissionDeniedError
from ohsc.review.base import ReviewBase
from ohsc.review.grants import GRANT_SECONDS
from ohsc.review.model import DECISIONS, Exposure, Reviewer
from ohsc.review.models import (
    UNBLURRED,
    EntryThumbnailRow,
    MediaRevealRow,
    RevealRefusalRow,
    ReviewDecisionRow,
    ReviewItemRow,
)
from ohsc.review.previews import greyscale_sharp
from ohsc.store.types import utcnow


@dataclass(frozen=True, slots=True)
class Media:
    data: bytes
    media_kind: str | None
    media_format: str | None


#: other places that show media unblurred (triage cases) count their reveals against the same
#: budget: ``counter(session, user_id, since) -> reveals``. Registered by those packages.
REVEAL_COUNTERS: list[Callable[[Session, int, datetime], int]] = []


def register_reveal_counter(counter: Callable[[Session, int, datetime], int]) -> None:
    if counter not in REVEAL_COUNTERS:
        REVEAL_COUNTERS.append(counter)


#: a reveal's recorded row and its grant's expiry are a moment apart; this much slack finds it
GRANT_MATCH_SECONDS = 5
#: a reported end counts at most this long after the reveal (a page left open overnight)
REVEAL_MAX_SECONDS = 3600


def ended_at(at: datetime, now: datetime) -> datetime:
    """When a reveal made ``at`` counts as ended on an end reported ``now``."""
    return min(now, at + timedelta(seconds=REVEAL_MAX_SECONDS))


def end_open_reveals(s: Session, item_id: int, user_id: int, now: datetime) -> int:
    """End every reveal of the item by this reviewer still on record as on screen: deciding an
    item takes it off their screen, whether or not the browser's own report of the end arrives
    (a beacon sent as the page is left may come later or never). Returns how many ended."""
    rows = s.scalars(
        select(MediaRevealRow).where(
            MediaRevealRow.item_id == item_id,
            MediaRevealRow.user_id == user_id,
            MediaRevealRow.hidden_at.is_(None),
        )
    ).all()
    for row in rows:
        row.hidden_at = ended_at(row.at, now)
    return len(rows)


def _start_of_day(now: datetime) -> datetime:
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


class ReviewViewing(ReviewBase):
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
            today = int(today or 0) + sum(count(s, user_id, day) for count in REVEAL_COUNTERS)
            recent = int(recent or 0) + sum(count(s, user_id, window) for count in REVEAL_COUNTERS)
            decided = s.scalar(
                select(func.count())
                .select_from(ReviewDecisionRow)
                .where(
                    ReviewDecisionRow.user_id == user_id,
                    ReviewDecisionRow.at >= day,
                    ReviewDecisionRow.decision.in_(DECISIONS),
                )
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
        if target not in ("media", "grey", "reference"):
            raise InvalidInputError("target is media, grey or reference")
        mode = "hold" if mode == "hold" else "click"
        if self.exposure(reviewer.user_id).limit_reached:
            self._refused(item_id, reviewer.user_id, reviewer.actor, target)
            raise ExposureLimitError(
                f"daily limit of {self.settings.review_daily_reveal_limit} media views reached; "
                "media stays blurred until tomorrow"
            )
        with self.store.session() as s:
            if target in UNBLURRED:
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

    def _refused(self, item_id: int, user_id: int, actor: str, target: str) -> None:
        """Record a reveal refused at the daily limit (the dashboard's "limits reached")."""
        with self.store.session() as s:
            s.add(RevealRefusalRow(item_id=item_id, user_id=user_id, target=target, at=utcnow()))
            audit.record(
                s,
                actor=actor,
                action="media.reveal_refused",
                object_type="review_item",
                object_id=item_id,
                details={"target": target, "reason": "exposure_limit"},
            )

    def hidden(
        self,
        item_id: int,
        reviewer: Reviewer,
        grant: str,
        *,
        target: str = "media",
        entry_id: int | None = None,
    ) -> bool:
        """Record that media revealed with ``grant`` is blurred again (or its page was left):
        the end of that reveal, for the time revealed. The grant names the reveal (its expiry is
        the reveal's time plus the grant's lifetime) and may have expired. Only the first end
        counts; returns whether one was recorded. Not audited: it only closes a reveal on record."""
        if reviewer.user_id is None:
            raise InvalidInputError("only logged-in reviewers view media")
        key = target if entry_id is None else f"{target}-{entry_id}"
        expiry = self.grants.signed_expiry(grant, item_id, key, reviewer.user_id)
        if expiry is None:
            raise PermissionDeniedError("not a grant of yours for this item")
        made = datetime.fromtimestamp(expiry - GRANT_SECONDS, tz=UTC)
        now = utcnow()
        with self.store.session() as s:
            row = s.scalar(
                select(MediaRevealRow)
                .where(
                    MediaRevealRow.item_id == item_id,
                    MediaRevealRow.user_id == reviewer.user_id,
                    MediaRevealRow.target == target,
                    MediaRevealRow.at > made - timedelta(seconds=GRANT_MATCH_SECONDS),
                    MediaRevealRow.at <= made + timedelta(seconds=GRANT_MATCH_SECONDS),
                )
                .order_by(MediaRevealRow.at.desc(), MediaRevealRow.id.desc())
                .limit(1)
            )
            if row is None or row.hidden_at is not None:
                return False
            row.hidden_at = ended_at(row.at, now)
        return True

    def media(self, item_id: int, reviewer: Reviewer, grant: str) -> Media:
        """The unblurred media, only with a valid reveal grant for this reviewer and item."""
        if reviewer.user_id is None or not self.grants.check(grant, item_id, "media", reviewer.user_id):
            raise PermissionDeniedError("reveal the media first")
        return self.preview_source(item_id)

    def grey(self, item_id: int, reviewer: Reviewer, grant: str) -> bytes | None:
        """The sharp greyscale picture (the step between blurred and full colour), only with a
        valid ``grey`` (or full ``media``) reveal grant; None when the media is not a picture."""
        if reviewer.user_id is None or not any(
            self.grants.check(grant, item_id, target, reviewer.user_id) for target in UNBLURRED
        ):
            raise PermissionDeniedError("reveal the media first")
        source = self.preview_source(item_id)
        if source.media_kind != "image":
            return None
        return greyscale_sharp(source.data, max_pixels=self.settings.max_image_pixels)

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
