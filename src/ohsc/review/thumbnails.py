"""Bank reference thumbnails: kept (encrypted) for entries added from an uploaded picture when the
bank's policy says ``keep_thumbnails``, and shown to reviewers blurred, behind a reveal."""

from __future__ import annotations

from sqlalchemy import select

from ohsc import audit
from ohsc.content.media import REFERENCE
from ohsc.review.models import EntryThumbnailRow
from ohsc.review.previews import thumbnail
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import EntryRow
from ohsc.store.unit import BlobWriter, unit_of_work


def keep_reference_thumbnail(
    store: Store,
    blobs: BlobWriter,
    settings: Settings,
    *,
    bank_id: int,
    data: bytes,
    signals: dict[str, str],
    actor: str,
) -> int:
    """Store one thumbnail of ``data`` for the bank's entries of ``signals`` that have none yet.

    Returns how many entries got it (0: none lacked one, or the picture is unreadable). The blob,
    its rows and the ``bank.thumbnail.add`` event commit together or not at all.
    """
    thumb = thumbnail(data, max_pixels=settings.max_image_pixels)
    if thumb is None:
        return 0
    with unit_of_work(store, blobs) as work:
        s = work.session
        entry_ids: list[int] = []
        for st, value in signals.items():
            entry_ids += s.scalars(
                select(EntryRow.id).where(
                    EntryRow.bank_id == bank_id, EntryRow.signal_type == st, EntryRow.value == value
                )
            )
        fresh = [i for i in entry_ids if s.get(EntryThumbnailRow, i) is None]
        if not fresh:
            return 0
        blob_id = work.put(REFERENCE, thumb)
        for entry_id in fresh:
            s.add(EntryThumbnailRow(entry_id=entry_id, blob_id=blob_id))
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="bank.thumbnail.add",
            object_type="bank",
            object_id=bank_id,
            details={"entries": fresh},
        )
        return len(fresh)
