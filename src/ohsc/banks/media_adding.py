"""Adding media files to a bank (hashed as references; robust banks also describe pictures):
a part of :class:`~ohsc.banks.service.BankService` (which it is mixed into)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from ohsc import audit
from ohsc.banks.model import (
    Bank,
    EntryInput,
    EntrySource,
    HashedMedia,
    ImportReport,
    MediaUpload,
    ReadNote,
    RowError,
)
from ohsc.errors import OhscError
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import EntryRow


@dataclass(frozen=True, slots=True)
class MediaAdded:
    """What :meth:`BankService.add_media` did: the bank, the report, the files hashed (their
    signals, for reference thumbnails) and the files that could not be used, with reasons."""

    bank: Bank
    report: ImportReport
    hashed: list[HashedMedia]
    failed: list[tuple[Path | MediaUpload, str]]


class MediaAdding:
    """Hash files or uploads and add their signals; describe pictures of robust banks."""

    store: Store
    settings: Settings
    actor: str

    if TYPE_CHECKING:  # provided by BankService

        def get_bank(self, ref: str | int) -> Bank: ...

        def add_entries(
            self,
            bank_ref: str | int,
            items: Iterable[EntryInput | RowError | ReadNote],
            *,
            source: EntrySource | str = EntrySource.MANUAL,
            source_ref: str | None = None,
        ) -> ImportReport: ...

    def add_files(
        self,
        bank_ref: str | int,
        paths: Sequence[Path],
        *,
        category: str | None = None,
        labels: Sequence[str] = (),
        note: str | None = None,
        external_id: str | None = None,
    ) -> tuple[ImportReport, list[tuple[Path, str]]]:
        """Hash media files and add their signals (:meth:`add_media`). Returns the report and
        the files that could not be used, with reasons."""
        added = self.add_media(
            bank_ref, paths, category=category, labels=labels, note=note, external_id=external_id
        )
        return added.report, [(f, why) for f, why in added.failed if isinstance(f, Path)]

    def add_media(
        self,
        bank_ref: str | int,
        files: Sequence[Path | MediaUpload],
        *,
        category: str | None = None,
        labels: Sequence[str] = (),
        note: str | None = None,
        external_id: str | None = None,
        source_ref: str | None = None,
    ) -> MediaAdded:
        """Hash media files or uploads (exact PDQ, every video frame decoded: banks are
        references) and add every signal (digests, PDQ of images, vPDQ of videos); in a robust
        bank, pictures are also described. Audited (``bank.entries.add``, ``bank.entries.describe``).
        Reference thumbnails, which the bank's policy decides, are kept by the caller above
        (:func:`ohsc.review.references.add_bank_media`)."""
        from ohsc.banks.media import hash_media  # hashing: numpy, Pillow, numba

        bank_id = self.get_bank(bank_ref).id
        common = {"category": category, "labels": list(labels), "note": note, "external_id": external_id}
        hashed, failed = hash_media(self.settings, files, **common)
        items = [item for h in hashed for item in h.items]
        report = self.add_entries(bank_id, items, source=EntrySource.FILE, source_ref=source_ref)
        report.notes.extend(note for h in hashed for note in h.notes)
        bank = self.get_bank(bank_id)
        if bank.robust:
            pictures = [(pdq, h.content) for h in hashed if (pdq := h.pdq) is not None]
            report.notes.extend(self.describe_pictures(bank.id, pictures))
        return MediaAdded(bank, report, hashed, failed)

    def describe_pictures(self, bank_id: int, pictures: Sequence[tuple[str, Path | bytes]]) -> list[str]:
        """Robust banks: keep the view hashes and local features of each picture next to its PDQ
        entry (``(pdq value, file or bytes)``). Returns notes on pictures that could not be described."""
        from ohsc.robust import store as robust_store  # OpenCV: only for robust banks
        from ohsc.robust.descriptor import RobustDescriptor

        notes: list[str] = []
        described = 0
        for value, source in pictures:
            try:
                descriptor = RobustDescriptor.of_source(source, self.settings.max_image_pixels)
            except OhscError as exc:
                label = source if isinstance(source, Path) else "upload"
                notes.append(f"{label}: not described for robust matching ({exc.message}); plain PDQ only")
                continue
            with self.store.session() as s:
                entry_id = s.scalar(
                    select(EntryRow.id).where(
                        EntryRow.bank_id == bank_id, EntryRow.signal_type == "pdq", EntryRow.value == value
                    )
                )
                if entry_id is None:
                    continue
                robust_store.save(s, entry_id, bank_id, descriptor)
                described += 1
        if described:
            with self.store.session() as s:
                audit.record(
                    s,
                    actor=self.actor,
                    action="bank.entries.describe",
                    object_type="bank",
                    object_id=bank_id,
                    details={"described": described, "failed": len(notes)},
                )
        return notes
