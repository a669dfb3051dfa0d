"""Bank references added from media files: one call for ``ohsc bank add`` and for an upload to
``POST /v1/banks/{bank}/entries``. It hashes the files, adds their signals (robust banks also
describe the pictures) and, when the bank's policy says ``keep_thumbnails``, keeps a reference
thumbnail of each picture (blob, rows and audit event in one unit of work). Each step writes
its audit event: ``bank.entries.add``, ``bank.entries.describe``, ``bank.thumbnail.add``.

It lives here, above the banks package, because the policy (actions) and the thumbnails
(review) are above it in the layers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ohsc.actions.service import ActionService
from ohsc.banks.media_adding import MediaAdded
from ohsc.banks.model import MediaUpload
from ohsc.banks.service import BankService
from ohsc.review.thumbnails import keep_reference_thumbnail
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.unit import BlobWriter


def add_bank_media(
    store: Store,
    settings: Settings,
    blobs: Callable[[], BlobWriter],
    actor: str,
    bank_ref: str | int,
    files: Sequence[Path | MediaUpload],
    *,
    category: str | None = None,
    labels: Sequence[str] = (),
    note: str | None = None,
    external_id: str | None = None,
    source_ref: str | None = None,
) -> MediaAdded:
    """Add media files (paths or uploaded bytes) to a bank as references; see the module.
    ``blobs`` opens the content store, only when a thumbnail is to be kept."""
    added = BankService(store, settings, actor=actor).add_media(
        bank_ref,
        files,
        category=category,
        labels=labels,
        note=note,
        external_id=external_id,
        source_ref=source_ref,
    )
    if (
        not added.hashed
        or not ActionService(store, settings, actor=actor).get_policy(added.bank.id).keep_thumbnails
    ):
        return added
    writer = blobs()
    picture_limit = min(settings.upload_max_bytes, settings.max_file_bytes)
    for media in added.hashed:
        content = media.content
        if isinstance(content, Path):
            if content.stat().st_size > picture_limit:
                continue  # a video or an oversized file: no thumbnail (as an upload would be refused)
            content = content.read_bytes()
        keep_reference_thumbnail(
            store, writer, settings, bank_id=added.bank.id, data=content, signals=media.signals(), actor=actor
        )
    return added
