"""What every part of the review service shares: the store, settings, loading and locking items,
and how stored rows are handed out."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from ohsc.content.models import ContentRow
from ohsc.errors import ReviewItemNotFoundError
from ohsc.media.blobs import BlobStore
from ohsc.review.grants import GrantSigner
from ohsc.review.model import DecisionRecord, ReviewItem
from ohsc.review.models import ReviewDecisionRow, ReviewItemRow
from ohsc.review.queue import base_query, to_item
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow


def to_decision(row: ReviewDecisionRow) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        item_id=row.item_id,
        actor=row.actor,
        decision=row.decision,
        note=row.note,
        viewed_unblurred=row.viewed_unblurred,
        added_to_bank_id=row.added_to_bank_id,
        at=row.at,
        undone_at=row.undone_at,
    )


class ReviewBase:
    def __init__(
        self, store: Store, settings: Settings, blobs: BlobStore | None, grants: GrantSigner
    ) -> None:
        self.store = store
        self.settings = settings
        self.blobs = blobs
        self.grants = grants
        self.claim_minutes = settings.review_claim_minutes

    def _load(self, s: Session, item_id: int) -> tuple[ReviewItemRow, ContentRow]:
        found = s.execute(base_query().where(ReviewItemRow.id == item_id)).first()
        if found is None:
            raise ReviewItemNotFoundError(f"no review item {item_id}")
        return found[0], found[1]

    def _lock(self, s: Session, item_id: int) -> tuple[ReviewItemRow, ContentRow]:
        """Load an item for a change, holding it until the transaction ends."""
        # a write first: it takes the row lock (PostgreSQL) or the write lock (SQLite) before we read
        touched = s.execute(
            update(ReviewItemRow).where(ReviewItemRow.id == item_id).values(updated_at=utcnow())
        )
        if getattr(touched, "rowcount", 0) != 1:
            raise ReviewItemNotFoundError(f"no review item {item_id}")
        return self._load(s, item_id)

    def get(self, item_id: int) -> ReviewItem:
        with self.store.session() as s:
            row, content = self._load(s, item_id)
            return to_item(row, content, self.claim_minutes)
