"""Retention: delete what is no longer needed.

* media kept for review: ``OHSC_MEDIA_RETENTION_DAYS`` after the final decision, or
  ``OHSC_UNDECIDED_MEDIA_RETENTION_DAYS`` after submission when nobody decided;
* records of content that matched nothing: after ``OHSC_CONTENT_RETENTION_DAYS``;
* expired UI sessions.

Match records, review items and decisions stay (they are the record of what was done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from ohsc import audit
from ohsc.accounts.sessions import SessionService
from ohsc.content.media import REVIEW
from ohsc.content.models import ContentRow
from ohsc.media.blobs import BlobStore
from ohsc.review.models import ReviewItemRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow
from ohsc.store.unit import unit_of_work

BATCH = 1000


@dataclass(slots=True)
class PurgeReport:
    media_deleted: int = 0
    records_deleted: int = 0
    sessions_deleted: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "media_deleted": self.media_deleted,
            "records_deleted": self.records_deleted,
            "sessions_deleted": self.sessions_deleted,
        }


def purge(
    store: Store, settings: Settings, blobs: BlobStore | None, *, now: datetime | None = None
) -> PurgeReport:
    now = now or utcnow()
    report = PurgeReport()
    decided_before = now - timedelta(days=settings.media_retention_days)
    undecided_before = now - timedelta(days=settings.undecided_media_retention_days)
    while True:
        with unit_of_work(store, blobs) as work:  # media are deleted once their rows no longer name them
            s = work.session
            rows = s.execute(
                select(ContentRow.id, ContentRow.media_blob_id)
                .join(ReviewItemRow, ReviewItemRow.content_item_id == ContentRow.id, isouter=True)
                .where(
                    ContentRow.media_blob_id.is_not(None),
                    or_(
                        ReviewItemRow.decided_at <= decided_before,
                        ReviewItemRow.id.is_(None) & (ContentRow.submitted_at <= undecided_before),
                        ReviewItemRow.decided_at.is_(None) & (ContentRow.submitted_at <= undecided_before),
                    ),
                )
                .limit(BATCH)
            ).all()
            if not rows:
                break
            for content_id, blob_id in rows:
                if blobs is not None:
                    work.release(REVIEW, blob_id)
                row = s.get(ContentRow, content_id)
                if row is not None:
                    row.media_blob_id = None
                    row.media_purged_at = now
            report.media_deleted += len(rows)
    cutoff = now - timedelta(days=settings.content_retention_days)
    while True:
        with store.session() as s:
            ids = list(
                s.scalars(
                    select(ContentRow.id)
                    .where(ContentRow.matched.is_(False), ContentRow.submitted_at <= cutoff)
                    .where(
                        ~select(ReviewItemRow.id)
                        .where(ReviewItemRow.content_item_id == ContentRow.id)
                        .exists()
                    )
                    .limit(BATCH)
                )
            )
            if not ids:
                break
            s.execute(delete(ContentRow).where(ContentRow.id.in_(ids)))
            report.records_deleted += len(ids)
    report.sessions_deleted = SessionService(store, settings).purge_expired()
    if report.media_deleted or report.records_deleted:
        with store.session() as s:
            audit.record(
                s,
                actor="system",
                action="retention.purge",
                object_type="content",
                details=report.to_dict(),
            )
    return report
