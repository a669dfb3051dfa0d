"""The bank service: everything the CLI and the API do to banks goes through here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.banks.formats import get_format
from ohsc.banks.import_runs import ImportRuns
from ohsc.banks.lookup import find_targets, search_condition
from ohsc.banks.model import (
    Bank,
    BankEntry,
    EntryInput,
    EntrySource,
    HashedMedia,
    ImportReport,
    MediaUpload,
    ReadNote,
    RecordInput,
    RowError,
)
from ohsc.banks.records import (
    PLACEHOLDER_IDS,
    record_key,
    records_of,
    refresh_entries,
    restore_rows,
    retract_rows,
    to_record,
    unwithdraw,
    withdraw,
)
from ohsc.banks.upsert import apply_batch, store_payloads
from ohsc.errors import (
    BankExistsError,
    BankNotFoundError,
    EntryNotFoundError,
    InvalidInputError,
    OhscError,
)
from ohsc.settings import Settings
from ohsc.signals import SIGNAL_TYPES, get_signal_type
from ohsc.store.db import Store, next_seq
from ohsc.store.models import BankRow, EntryDeletion, EntryRow, EntrySourceRow, ImportRunRow
from ohsc.store.types import ascii_int, utcnow

BATCH = 2000


@dataclass(frozen=True, slots=True)
class MediaAdded:
    """What :meth:`BankService.add_media` did: the bank, the report, the files hashed (their
    signals, for reference thumbnails) and the files that could not be used, with reasons."""

    bank: Bank
    report: ImportReport
    hashed: list[HashedMedia]
    failed: list[tuple[Path | MediaUpload, str]]


def _to_entry(row: EntryRow, bank_name: str, recs: Sequence[EntrySourceRow] = ()) -> BankEntry:
    return BankEntry(
        id=row.id,
        bank_id=row.bank_id,
        bank_name=bank_name,
        signal_type=row.signal_type,
        value=row.value,
        quality=row.quality,
        category=row.category,
        labels=tuple(row.labels or ()),
        source=row.source,
        source_ref=row.source_ref,
        external_id=row.external_id,
        note=row.note,
        created_at=row.created_at,
        updated_at=row.updated_at,
        retracted_at=row.retracted_at,
        retraction_reason=row.retraction_reason,
        sources=tuple(to_record(r) for r in recs),
    )


def _validate_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInputError("bank name must be 1 to 200 characters")
    if any(ch in name for ch in "\r\n\t"):
        raise InvalidInputError("bank name must be on one line")
    return name


class BankService(ImportRuns):
    """Create, change, fill, withdraw from and export banks. Every change is an audit event."""

    def __init__(self, store: Store, settings: Settings, actor: str = "cli") -> None:
        self.store = store
        self.settings = settings
        self.actor = actor

    # --- banks -------------------------------------------------------------------------------

    def _bank(self, row: BankRow, active: int = 0, retracted: int = 0) -> Bank:
        return Bank(
            id=row.id,
            name=row.name,
            description=row.description,
            threshold=row.threshold if row.threshold is not None else self.settings.pdq_threshold,
            threshold_is_default=row.threshold is None,
            is_allowlist=row.is_allowlist,
            enabled=row.enabled,
            created_at=row.created_at,
            updated_at=row.updated_at,
            active_entries=active,
            retracted_entries=retracted,
            robust=row.robust,
        )

    def _check_threshold(self, threshold: int | None) -> None:
        if threshold is not None and not 0 <= threshold <= self.settings.pdq_max_threshold:
            raise InvalidInputError(
                f"threshold must be between 0 and {self.settings.pdq_max_threshold} (OHSC_PDQ_MAX_THRESHOLD)"
            )

    def create_bank(
        self,
        name: str,
        *,
        threshold: int | None = None,
        allowlist: bool = False,
        description: str = "",
        robust: bool = False,
    ) -> Bank:
        name = _validate_name(name)
        self._check_threshold(threshold)
        try:
            with self.store.session() as s:
                if s.scalar(select(BankRow.id).where(BankRow.name == name)) is not None:
                    raise BankExistsError(f"bank {name!r} already exists")
                row = BankRow(
                    name=name,
                    threshold=threshold,
                    is_allowlist=allowlist,
                    description=description,
                    robust=robust,
                )
                s.add(row)
                s.flush()
                audit.record(
                    s,
                    actor=self.actor,
                    action="bank.create",
                    object_type="bank",
                    object_id=row.id,
                    details={"name": name, "threshold": threshold, "allowlist": allowlist, "robust": robust},
                )
                return self._bank(row)
        except IntegrityError as exc:
            raise BankExistsError(f"bank {name!r} already exists") from exc

    def _get_row(self, s: Session, ref: str | int) -> BankRow:
        row: BankRow | None = None
        if isinstance(ref, int):
            row = s.get(BankRow, ref)
        else:
            row = s.scalar(select(BankRow).where(BankRow.name == ref))
            if row is None and (number := ascii_int(ref)) is not None:
                row = s.get(BankRow, number)
        if row is None:
            raise BankNotFoundError(f"no bank named {ref!r}")
        return row

    def _counts(self, s: Session, bank_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
        q = select(
            EntryRow.bank_id,
            func.count().filter(EntryRow.retracted_at.is_(None)),
            func.count().filter(EntryRow.retracted_at.is_not(None)),
        ).group_by(EntryRow.bank_id)
        if bank_ids is not None:
            q = q.where(EntryRow.bank_id.in_(bank_ids))
        return {bank_id: (int(a), int(r)) for bank_id, a, r in s.execute(q)}

    def get_bank(self, ref: str | int) -> Bank:
        with self.store.session() as s:
            row = self._get_row(s, ref)
            active, retracted = self._counts(s, [row.id]).get(row.id, (0, 0))
            return self._bank(row, active, retracted)

    def list_banks(self) -> list[Bank]:
        with self.store.session() as s:
            rows = list(s.scalars(select(BankRow).order_by(BankRow.name)))
            counts = self._counts(s)
            return [self._bank(r, *counts.get(r.id, (0, 0))) for r in rows]

    def update_bank(
        self,
        ref: str | int,
        *,
        name: str | None = None,
        threshold: int | None = None,
        clear_threshold: bool = False,
        allowlist: bool | None = None,
        enabled: bool | None = None,
        description: str | None = None,
        robust: bool | None = None,
    ) -> Bank:
        """Change a bank. Turning ``robust`` on describes pictures added from then on; entries
        already there stay hash-only (plain PDQ) until their pictures are added again."""
        self._check_threshold(threshold)
        with self.store.session() as s:
            row = self._get_row(s, ref)
            changes: dict[str, object] = {}
            if name is not None and name != row.name:
                name = _validate_name(name)
                if s.scalar(select(BankRow.id).where(BankRow.name == name)) is not None:
                    raise BankExistsError(f"bank {name!r} already exists")
                changes["name"] = name
                row.name = name
            if (clear_threshold or threshold is not None) and threshold != row.threshold:
                changes["threshold"] = threshold
                row.threshold = threshold
            if allowlist is not None and allowlist != row.is_allowlist:
                changes["allowlist"] = allowlist
                row.is_allowlist = allowlist
            if enabled is not None and enabled != row.enabled:
                changes["enabled"] = enabled
                row.enabled = enabled
            if robust is not None and robust != row.robust:
                changes["robust"] = robust
                row.robust = robust
            if description is not None and description != row.description:
                changes["description"] = True
                row.description = description
            if changes:
                row.updated_at = utcnow()
                audit.record(
                    s,
                    actor=self.actor,
                    action="bank.update",
                    object_type="bank",
                    object_id=row.id,
                    details=changes,
                )
            s.flush()
            active, retracted = self._counts(s, [row.id]).get(row.id, (0, 0))
            return self._bank(row, active, retracted)

    def delete_bank(self, ref: str | int) -> None:
        """Delete a bank and its entries. Indexes drop them at their next sync."""
        with self.store.session() as s:
            row = self._get_row(s, ref)
            ids = list(s.scalars(select(EntryRow.id).where(EntryRow.bank_id == row.id)))
            entries = len(ids)
            if ids:  # one seq value per deleted entry: index sync pages through them by seq
                first = next_seq(s, "entry_seq", len(ids)) - len(ids) + 1
                for start in range(0, len(ids), BATCH):
                    chunk = ids[start : start + BATCH]
                    s.execute(
                        insert(EntryDeletion),
                        [{"entry_id": i, "seq": first + start + k} for k, i in enumerate(chunk)],
                    )
            audit.record(
                s,
                actor=self.actor,
                action="bank.delete",
                object_type="bank",
                object_id=row.id,
                details={"name": row.name, "entries": entries},
            )
            s.delete(row)
            s.flush()
            for st in {get_signal_type(t) for t in SIGNAL_TYPES}:
                if st.has_payload:
                    st.purge_payloads(s)

    # --- entries -----------------------------------------------------------------------------

    def _normalise(self, item: EntryInput) -> EntryInput:
        if item.retract and not item.signal_type and not item.value and item.external_id:
            if record_key(item.external_id) in PLACEHOLDER_IDS:  # NSRL/CAID VICS: 0 names no record
                raise InvalidInputError(
                    f"a withdrawal by external id {item.external_id!r} names no record: give the hash"
                )
            return item  # a withdrawal by external id (see EntryInput.retract)
        if not item.signal_type:
            raise InvalidInputError("missing signal_type")
        if not item.value:
            raise InvalidInputError("missing value")
        st = get_signal_type(item.signal_type)
        item.signal_type = st.name
        item.value = st.validate(item.value)
        if item.quality is not None and not 0 <= item.quality <= 100:
            raise InvalidInputError(f"quality must be 0..100, got {item.quality}")
        return item

    def add_entries(
        self,
        bank_ref: str | int,
        items: Iterable[EntryInput | RowError | ReadNote],
        *,
        source: EntrySource | str = EntrySource.MANUAL,
        source_ref: str | None = None,
    ) -> ImportReport:
        """Add, update or withdraw the source records of ``source`` (an :class:`EntrySource`, or
        a name such as ``exchange:hotline``); invalid items are reported and the rest load. Each
        batch commits with its own audit event, so an interrupted call leaves only whole, audited
        batches behind."""
        with self.store.session() as s:
            bank = self._get_row(s, bank_ref)
            bank_id = bank.id
        return self._apply_stream(bank_id, items, str(source), source_ref)

    def _apply_stream(
        self,
        bank_id: int,
        items: Iterable[EntryInput | RowError | ReadNote],
        source: str,
        source_ref: str | None,
        run_id: int | None = None,
        report: ImportReport | None = None,
        position: Callable[[], int | None] | None = None,
    ) -> ImportReport:
        """Apply items batch by batch; each batch commits with its audit event (and the run's
        counts and bytes read so far). ``report`` collects the committed batches only."""
        report = report if report is not None else ImportReport()
        iterator: Iterator[EntryInput | RowError | ReadNote] = iter(items)
        number = 0
        while batch := list(islice(iterator, BATCH)):
            number += 1
            part = ImportReport()
            valid = self._validated(batch, part)
            with self.store.session() as s:
                if valid:
                    valid = store_payloads(s, valid, part)
                    part.merge(apply_batch(s, bank_id, valid, source, source_ref))
                if part.changed:
                    self._audit_added(s, bank_id, source, source_ref, part, batch=number, run_id=run_id)
                if run_id is not None and (run := s.get(ImportRunRow, run_id)) is not None:
                    so_far = ImportReport()
                    so_far.merge(report)
                    so_far.merge(part)
                    run.counts = so_far.counts()
                    if position is not None:
                        run.bytes_read = position()
            report.merge(part)
        return report

    def add_entries_in(
        self,
        s: Session,
        bank_ref: str | int,
        items: Sequence[EntryInput],
        *,
        source: EntrySource | str,
        source_ref: str | None = None,
        normalised: bool = False,
        relist: bool = False,
    ) -> ImportReport:
        """:meth:`add_entries` in the caller's transaction: for a few entries that must commit,
        or fail, together with the change that causes them (a review confirmation), or a page
        of an exchange. ``normalised``: the caller has validated every signal already (it is
        not read twice). ``relist``: the source is the authority on its own records, so one it
        withdrew and lists again comes back (see :func:`ohsc.banks.upsert.apply_batch`)."""
        report = ImportReport()
        bank = self._get_row(s, bank_ref)
        checked = list(items) if normalised else self._validated(items, report)
        valid = store_payloads(s, checked, report)
        report.merge(apply_batch(s, bank.id, valid, str(source), source_ref, relist=relist))
        if report.changed:
            self._audit_added(s, bank.id, str(source), source_ref, report)
        return report

    # --- source records (the API exchanges build on) -----------------------------------------

    def apply_records(
        self,
        bank_ref: str | int,
        records: Iterable[RecordInput],
        *,
        source: str,
        source_ref: str | None = None,
    ) -> ImportReport:
        """Upsert whole source records of ``source`` (e.g. ``exchange:hotline``), each keyed by
        ``(bank, source, external_id)``: every signal it lists gets (or keeps) a live record; a
        signal the record listed before and no longer lists is withdrawn from it; a record with
        ``withdrawn`` is withdrawn (every signal). An entry matches while any live record lists
        it. Batches commit as they go, each with its audit event."""
        with self.store.session() as s:
            bank_id = self._get_row(s, bank_ref).id
        report = ImportReport()
        iterator = iter(records)
        while chunk := list(islice(iterator, BATCH // 4)):
            items: list[EntryInput | RowError | ReadNote] = []
            for rec in chunk:
                items.extend(self._record_items(rec))
            report.merge(self._apply_stream(bank_id, items, source, source_ref))
            report.merge(self._drop_unlisted(bank_id, source, [r for r in chunk if not r.withdrawn]))
        return report

    def withdraw_records(
        self, bank_ref: str | int, external_ids: Iterable[str], *, source: str, reason: str | None = None
    ) -> ImportReport:
        """Withdraw the records of ``source`` with these external ids (every signal of each)."""
        records = (RecordInput(external_id=e, withdrawn=True, reason=reason) for e in external_ids)
        return self.apply_records(bank_ref, records, source=source)

    @staticmethod
    def _record_items(rec: RecordInput) -> list[EntryInput | RowError | ReadNote]:
        if not record_key(rec.external_id):
            return [RowError(None, "a source record needs an external id")]
        if rec.withdrawn:
            return [
                EntryInput("", "", external_id=rec.external_id, retract=True, retraction_reason=rec.reason)
            ]
        return [
            EntryInput(st, value, category=rec.category, labels=list(rec.labels), external_id=rec.external_id)
            for st, value in rec.signals
        ]

    def _drop_unlisted(self, bank_id: int, source: str, records: Sequence[RecordInput]) -> ImportReport:
        """Withdraw the signals these records listed before and list no more."""
        report = ImportReport()
        if not records:
            return report
        listed: dict[str, set[tuple[str, str]]] = {}
        for rec in records:
            keep = listed.setdefault(record_key(rec.external_id), set())
            for st, value in rec.signals:
                try:
                    norm = get_signal_type(st)
                    keep.add((norm.name, norm.validate(value)))
                except OhscError:
                    continue
        with self.store.session() as s:
            query = (
                select(EntrySourceRow, EntryRow.signal_type, EntryRow.value)
                .join(EntryRow, EntryRow.id == EntrySourceRow.entry_id)
                .where(
                    EntrySourceRow.bank_id == bank_id,
                    EntrySourceRow.source == source,
                    EntrySourceRow.external_id.in_(list(listed)),
                    EntrySourceRow.withdrawn_at.is_(None),
                )
            )
            gone = [rec for rec, st, value in s.execute(query) if (st, value) not in listed[rec.external_id]]
            done = withdraw(gone, "no longer listed by its source")
            if done:
                refresh_entries(s, {r.entry_id for r in done})
                report.retracted += len(done)
                self._audit_added(s, bank_id, source, None, report)
        return report

    def _validated(
        self, batch: Iterable[EntryInput | RowError | ReadNote], report: ImportReport
    ) -> list[EntryInput]:
        valid: list[EntryInput] = []
        for item in batch:
            if isinstance(item, RowError):
                report.errors.append(item)
            elif isinstance(item, ReadNote):
                report.notes.append(item.message)
            else:
                try:
                    valid.append(self._normalise(item))
                except OhscError as exc:
                    report.errors.append(RowError(item.line, exc.message))
        return valid

    def _audit_added(
        self,
        s: Session,
        bank_id: int,
        source: str,
        source_ref: str | None,
        report: ImportReport,
        *,
        batch: int | None = None,
        run_id: int | None = None,
    ) -> None:
        bank = s.get(BankRow, bank_id)
        details: dict[str, object] = {
            "bank": bank.name if bank is not None else None,
            "source": source,
            "source_ref": source_ref,
            **report.counts(),
        }
        if batch is not None:
            details["batch"] = batch
        if run_id is not None:
            details["import_run"] = run_id
        audit.record(
            s,
            actor=self.actor,
            action="bank.entries.add",
            object_type="bank",
            object_id=bank_id,
            details=details,
        )

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

    def _retract_or_restore(
        self, bank_ref: str | int, ref: str, reason: str | None, restore: bool
    ) -> list[BankEntry]:
        with self.store.session() as s:
            bank = self._get_row(s, bank_ref)
            rows, recs = find_targets(s, bank.id, ref)
            if not rows:
                raise EntryNotFoundError(
                    f"bank {bank.name!r} has no entry {ref!r} (give an entry id, external id or hash)"
                )
            self.set_retracted_in(
                s,
                bank.id,
                rows,
                None if restore else (reason or ""),
                records=recs,
                restore_reason=reason if restore else None,
            )
            s.flush()
            return [_to_entry(r, bank.name) for r in rows]

    def set_retracted_in(
        self,
        s: Session,
        bank_id: int,
        rows: Sequence[EntryRow],
        reason: str | None,
        *,
        records: Sequence[EntrySourceRow] | None = None,
        restore_reason: str | None = None,
    ) -> list[int]:
        """Withdraw (``reason``) or restore (None) source records of these entries of one bank, in
        the caller's transaction: ``records`` when given, else every record of the entries. An
        entry stops matching when no live record is left and matches again when one is back.
        Returns the ids of entries changed (audited, with ``restore_reason`` for a restore)."""
        restore = reason is None
        ids = [r.id for r in rows]
        bare: list[EntryRow] = []
        if records is None:
            records = [rec for recs in records_of(s, ids).values() for rec in recs]
            listed = {rec.entry_id for rec in records}
            bare = [r for r in rows if r.id not in listed and (r.retracted_at is None) != restore]
        changed = unwithdraw(records) if restore else withdraw(records, reason or "")
        before = {r.id: r.retracted_at is None for r in rows}
        if restore:  # entries without records (none are written so since 0008): by hand
            restore_rows(s, bare)
        else:
            retract_rows(s, [(r, reason or "") for r in bare])
        refresh_entries(s, ids)
        done = [r.id for r in rows if (r.retracted_at is None) != before[r.id]]
        if changed or done:
            audit.record(
                s,
                actor=self.actor,
                action="entry.restore" if restore else "entry.retract",
                object_type="bank",
                object_id=bank_id,
                details={
                    "entries": done,
                    "records": len(changed),
                    "reason": restore_reason if restore else reason,
                },
            )
        return done

    def retract(self, bank_ref: str | int, ref: str, reason: str) -> list[BankEntry]:
        """Withdraw entries named by id, external id or hash (all signals of one external id)."""
        if not reason or not reason.strip():
            raise InvalidInputError("a retraction needs a reason")
        return self._retract_or_restore(bank_ref, ref, reason.strip(), restore=False)

    def restore(self, bank_ref: str | int, ref: str, reason: str | None = None) -> list[BankEntry]:
        """Bring back withdrawn entries; ``reason``, when given, goes into the audit event."""
        reason = reason.strip() if reason and reason.strip() else None
        return self._retract_or_restore(bank_ref, ref, reason, restore=True)

    def get_entry(self, entry_id: int) -> BankEntry:
        with self.store.session() as s:
            row = s.get(EntryRow, entry_id)
            if row is None:
                raise EntryNotFoundError(f"no entry {entry_id}")
            return _to_entry(row, row.bank.name, records_of(s, [row.id]).get(row.id, ()))

    def entries_by_id(self, ids: Iterable[int]) -> dict[int, BankEntry]:
        """Entries with their source records (what a match answer names)."""
        wanted = list(set(ids))
        out: dict[int, BankEntry] = {}
        with self.store.session() as s:
            for chunk_start in range(0, len(wanted), 1000):
                chunk = wanted[chunk_start : chunk_start + 1000]
                found = list(
                    s.execute(select(EntryRow, BankRow.name).join(BankRow).where(EntryRow.id.in_(chunk)))
                )
                recs = records_of(s, [row.id for row, _ in found])
                for row, name in found:
                    out[row.id] = _to_entry(row, name, recs.get(row.id, ()))
        return out

    def page_entries(
        self,
        bank_ref: str | int,
        *,
        query: str = "",
        after: int = 0,
        limit: int = 50,
        include_retracted: bool = False,
    ) -> list[BankEntry]:
        """Up to ``limit`` entries of a bank with ids above ``after``, in id order, with their
        source records; ``query`` keeps those it names (an entry id, a hash or an external id)."""
        with self.store.session() as s:
            bank = self._get_row(s, bank_ref)
            q = select(EntryRow.id).where(EntryRow.bank_id == bank.id, EntryRow.id > after)
            if query.strip():
                q = q.where(search_condition(bank.id, query))
            if not include_retracted:
                q = q.where(EntryRow.retracted_at.is_(None))
            ids = list(s.scalars(q.order_by(EntryRow.id).limit(limit)))
        found = self.entries_by_id(ids)
        return [found[i] for i in ids if i in found]

    def iter_entries(
        self, bank_ref: str | int, *, include_retracted: bool = False, batch: int = 5000
    ) -> Iterator[BankEntry]:
        """Stream a bank's entries in id order, with their source records (constant memory)."""
        with self.store.session() as s:
            bank = self._get_row(s, bank_ref)
            bank_id, bank_name = bank.id, bank.name
        last = 0
        while True:
            with self.store.session() as s:
                q = select(EntryRow).where(EntryRow.bank_id == bank_id, EntryRow.id > last)
                if not include_retracted:
                    q = q.where(EntryRow.retracted_at.is_(None))
                rows = list(s.scalars(q.order_by(EntryRow.id).limit(batch)))
                recs = records_of(s, [r.id for r in rows])
            if not rows:
                return
            for row in rows:
                yield _to_entry(row, bank_name, recs.get(row.id, ()))
            last = rows[-1].id

    def _with_payloads(self, entries: Iterator[BankEntry], batch: int = 200) -> Iterator[BankEntry]:
        """Entries with full values where the row keeps a reference (vPDQ frames)."""
        while chunk := list(islice(entries, batch)):
            refs: dict[str, list[str]] = {}
            for entry in chunk:
                if get_signal_type(entry.signal_type).has_payload:
                    refs.setdefault(entry.signal_type, []).append(entry.value)
            full: dict[tuple[str, str], str] = {}
            if refs:
                with self.store.session() as s:
                    for st_name, values in refs.items():
                        loaded = get_signal_type(st_name).load_payloads(s, values)
                        full.update({(st_name, ref): value for ref, value in loaded.items()})
            for entry in chunk:
                value = full.get((entry.signal_type, entry.value))
                yield entry if value is None else replace(entry, value=value)

    def export(self, bank_ref: str | int, fh: BinaryIO, fmt: str, *, include_retracted: bool = False) -> int:
        writer = get_format(fmt)
        if not writer.can_write:
            raise InvalidInputError(f"{writer.name} is an import-only format")
        bank = self.get_bank(bank_ref)
        entries = self._with_payloads(self.iter_entries(bank.id, include_retracted=include_retracted))
        n = writer.write(entries, fh, bank)
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor,
                action="bank.export",
                object_type="bank",
                object_id=bank.id,
                details={"format": writer.name, "entries": n, "include_retracted": include_retracted},
            )
        return n
