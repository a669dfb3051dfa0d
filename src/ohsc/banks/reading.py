"""Reading a bank's entries (one, by id, a page, a stream) and exporting them: a part of
:class:`~ohsc.banks.service.BankService` (which it is mixed into)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.banks.formats import get_format
from ohsc.banks.lookup import search_condition
from ohsc.banks.model import (
    Bank,
    BankEntry,
    SourceRecord,
)
from ohsc.banks.records import (
    records_of,
    to_record,
)
from ohsc.errors import EntryNotFoundError, InvalidInputError
from ohsc.settings import Settings
from ohsc.signals import get_signal_type
from ohsc.store.db import Store
from ohsc.store.models import BankRow, EntryRow, EntrySourceRow


def to_entry(row: EntryRow, bank_name: str, recs: Sequence[EntrySourceRow] = ()) -> BankEntry:
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
        retracted=row.retracted_at is not None,
        retracted_at=row.retracted_at,
        retraction_reason=row.retraction_reason,
        sources=tuple(to_record(r) for r in recs),
    )


_ENTRY_COLUMNS = (
    EntryRow.id,
    EntryRow.bank_id,
    EntryRow.signal_type,
    EntryRow.value,
    EntryRow.quality,
    EntryRow.category,
    EntryRow.labels,
    EntryRow.source,
    EntryRow.source_ref,
    EntryRow.external_id,
    EntryRow.note,
    EntryRow.created_at,
    EntryRow.updated_at,
    EntryRow.retracted_at,
    EntryRow.retraction_reason,
    BankRow.name,
)
_RECORD_COLUMNS = (
    EntrySourceRow.id,
    EntrySourceRow.source,
    EntrySourceRow.external_id,
    EntrySourceRow.category,
    EntrySourceRow.labels,
    EntrySourceRow.source_ref,
    EntrySourceRow.first_seen,
    EntrySourceRow.last_seen,
    EntrySourceRow.withdrawn_at,
    EntrySourceRow.withdrawal_reason,
    EntrySourceRow.record_key,
)
_N_ENTRY = len(_ENTRY_COLUMNS)
#: Entries by id with their bank's name and every source record, oldest record first (one
#: statement: the entry and its records are read from one snapshot of the store).
_ENTRIES_WITH_RECORDS = (
    select(*_ENTRY_COLUMNS, *_RECORD_COLUMNS)
    .join(BankRow, BankRow.id == EntryRow.bank_id)
    .outerjoin(EntrySourceRow, EntrySourceRow.entry_id == EntryRow.id)
    .where(EntryRow.id.in_(bindparam("ids", expanding=True)))
    .order_by(EntryRow.id, EntrySourceRow.id)
)


def entries_of_rows(rows: Iterable[Row[Any]]) -> dict[int, BankEntry]:
    """Entries from rows of :data:`_ENTRIES_WITH_RECORDS` (an entry's rows in a run)."""
    heads: dict[int, Sequence[Any]] = {}
    recs: dict[int, list[SourceRecord]] = {}
    for row in rows:
        entry_id = row[0]
        if entry_id not in heads:
            heads[entry_id] = row[:_N_ENTRY]
            recs[entry_id] = []
        if row[_N_ENTRY] is not None:  # the outer join's row of an entry without records
            (_id, source, ext, category, labels, source_ref, first, last, withdrawn, reason, key) = row[
                _N_ENTRY:
            ]
            recs[entry_id].append(
                SourceRecord(
                    source=source,
                    external_id=ext or None,
                    category=category,
                    labels=tuple(labels or ()),
                    source_ref=source_ref,
                    first_seen=first,
                    last_seen=last,
                    withdrawn_at=withdrawn,
                    withdrawal_reason=reason,
                    record_key=key,
                )
            )
    out: dict[int, BankEntry] = {}
    for entry_id, head in heads.items():
        (_id, bank_id, st, value, quality, category, labels, source, source_ref, ext, note) = head[:11]
        created, updated, retracted_at, reason, bank_name = head[11:]
        out[entry_id] = BankEntry(
            id=entry_id,
            bank_id=bank_id,
            bank_name=bank_name,
            signal_type=st,
            value=value,
            quality=quality,
            category=category,
            labels=tuple(labels or ()),
            source=source,
            source_ref=source_ref,
            external_id=ext,
            note=note,
            created_at=created,
            updated_at=updated,
            retracted=retracted_at is not None,
            retracted_at=retracted_at,
            retraction_reason=reason,
            sources=tuple(recs[entry_id]),
        )
    return out


class EntryReading:
    """Entries with their source records, and exports in a hash-list format."""

    store: Store
    settings: Settings
    actor: str

    if TYPE_CHECKING:  # provided by BankService

        def _get_row(self, s: Session, ref: str | int) -> BankRow: ...

        def get_bank(self, ref: str | int) -> Bank: ...

    def get_entry(self, entry_id: int) -> BankEntry:
        with self.store.session() as s:
            row = s.get(EntryRow, entry_id)
            if row is None:
                raise EntryNotFoundError(f"no entry {entry_id}")
            return to_entry(row, row.bank.name, records_of(s, [row.id]).get(row.id, ()))

    def entries_by_id(self, ids: Iterable[int]) -> dict[int, BankEntry]:
        """Entries with their source records (what a match answer names): one statement per
        1,000 entries, read as plain rows on a kept reading connection (:meth:`Store.reading`),
        so a matched file costs the matcher a query, not a new connection and ORM objects."""
        wanted = sorted(set(ids))
        out: dict[int, BankEntry] = {}
        if not wanted:
            return out
        with self.store.reading() as conn:
            for chunk_start in range(0, len(wanted), 1000):
                chunk = wanted[chunk_start : chunk_start + 1000]
                out.update(entries_of_rows(conn.execute(_ENTRIES_WITH_RECORDS, {"ids": chunk})))
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
                yield to_entry(row, bank_name, recs.get(row.id, ()))
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
                yield entry if value is None else entry.model_copy(update={"value": value})

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
