"""The bank service: everything the CLI and the API do to banks goes through here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.banks.import_runs import ImportRuns
from ohsc.banks.media_adding import MediaAdding
from ohsc.banks.model import (
    Bank,
    EntryInput,
    EntrySource,
    ImportReport,
    ReadNote,
    RowError,
)
from ohsc.banks.reading import EntryReading
from ohsc.banks.records import (
    PLACEHOLDER_IDS,
    record_key,
)
from ohsc.banks.retraction import Retraction
from ohsc.banks.source_records import BATCH as BATCH
from ohsc.banks.source_records import SourceRecords
from ohsc.banks.upsert import apply_batch, store_payloads
from ohsc.errors import (
    BankExistsError,
    BankNotFoundError,
    InvalidInputError,
    OhscError,
)
from ohsc.settings import Settings
from ohsc.signals import SIGNAL_TYPES, get_signal_type
from ohsc.store.db import Store, next_seq
from ohsc.store.models import BankRow, EntryDeletion, EntryRow, ImportRunRow
from ohsc.store.types import ascii_int, utcnow


def _validate_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInputError("bank name must be 1 to 200 characters")
    if any(ch in name for ch in "\r\n\t"):
        raise InvalidInputError("bank name must be on one line")
    return name


class BankService(ImportRuns, SourceRecords, MediaAdding, Retraction, EntryReading):
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
