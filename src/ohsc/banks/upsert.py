"""The write path of a batch of entries: add or update source records, withdraw them.

Each item read from a file or a request is one signal of one source record, keyed by
``(signal type, value, source, external id)``. New hashes become entries (bulk inserts of the
entries, then of their records); a hash the bank has gets a new record, or its record is updated.
Every change that matters for matching stamps its entry with a new value of the ``entry_seq``
counter, which is how running indexes find it (see :mod:`ohsc.index.manager`): an entry is
retracted when no live record lists it any more, and restored when one lists it again
(:func:`ohsc.banks.records.refresh_entries`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ohsc.banks.model import EntryInput, ImportReport, RowError
from ohsc.banks.records import (
    DEFAULT_WITHDRAWAL,
    record_key,
    records_of,
    refresh_entries,
    restore_rows,
    retract_rows,
    seq_range,
    withdraw,
)
from ohsc.errors import OhscError
from ohsc.signals import SIGNAL_TYPES
from ohsc.store.models import EntryRow, EntrySourceRow
from ohsc.store.types import utcnow

__all__ = ["apply_batch", "entry_kind", "restore_rows", "retract_rows", "store_payloads", "withdraw_external"]

#: Entry fields that are the entry's own (the rest summarise its records).
ENTRY_FIELDS = ("note", "quality")
Key = tuple[str, str, str]
Hash = tuple[str, str]


#: Sources that are one family for withdrawals: a file may withdraw what was added by hand, by an
#: earlier file or through the API. Named sources (``review``, ``exchange:<name>``, an import's
#: ``--source``) withdraw only their own records.
GENERIC_SOURCES = ("manual", "file", "import", "api")


def withdrawal_scope(source: str) -> tuple[str, ...]:
    """The sources whose records a withdrawal from ``source`` may remove."""
    return GENERIC_SOURCES if source in GENERIC_SOURCES else (source,)


def entry_kind(source: str) -> str:
    """What ``bank_entries.source`` keeps of a record's source (``exchange:hotline`` -> ``exchange``)."""
    return source.partition(":")[0][:32] or "manual"


def store_payloads(s: Session, items: list[EntryInput], report: ImportReport) -> list[EntryInput]:
    """Values too large for a row (vPDQ frames) go to their signal type's table; the row
    keeps the reference. A value that cannot be stored is reported, the rest go on."""
    kept: list[EntryInput] = []
    for item in items:
        st = SIGNAL_TYPES.get(item.signal_type)
        if st is not None and st.has_payload:
            try:
                # a withdrawal names the entry without keeping anything
                item.value = st.reference(item.value) if item.retract else st.store_payload(s, item.value)
            except OhscError as exc:
                report.errors.append(RowError(item.line, exc.message))
                continue
        kept.append(item)
    return kept


def _same(a: EntryInput, b: EntryInput) -> bool:
    return (a.category, sorted(a.labels), a.note, a.quality) == (
        b.category,
        sorted(b.labels),
        b.note,
        b.quality,
    )


def _update_entry(row: EntryRow, item: EntryInput) -> bool:
    changed = False
    for name in ENTRY_FIELDS:
        new = getattr(item, name)
        if new is not None and new != getattr(row, name):  # a missing cell does not erase
            setattr(row, name, new)
            changed = True
    return changed


def _update_record(rec: EntrySourceRow, item: EntryInput, source_ref: str | None, now: datetime) -> bool:
    changed = False
    if item.category is not None and item.category != rec.category:
        rec.category = item.category
        changed = True
    if item.labels and sorted(item.labels) != sorted(rec.labels or []):  # no labels: none given
        rec.labels = list(item.labels)
        changed = True
    if changed:
        rec.last_seen = now
        rec.source_ref = source_ref
    return changed


def _existing(s: Session, bank_id: int, hashes: Iterable[Hash]) -> dict[Hash, EntryRow]:
    by_type: dict[str, list[str]] = {}
    for st, value in hashes:
        by_type.setdefault(st, []).append(value)
    found: dict[Hash, EntryRow] = {}
    for st, values in by_type.items():
        query = select(EntryRow).where(
            EntryRow.bank_id == bank_id, EntryRow.signal_type == st, EntryRow.value.in_(values)
        )
        for row in s.scalars(query):
            found[(row.signal_type, row.value)] = row
    return found


class _Batch:
    """One batch applied to one bank for one source."""

    def __init__(self, s: Session, bank_id: int, source: str, source_ref: str | None) -> None:
        self.s, self.bank_id, self.source, self.source_ref = s, bank_id, source, source_ref
        self.report = ImportReport()
        self.scope = withdrawal_scope(source)
        self.now = utcnow()
        self.touched: set[int] = set()
        self.new_entries: dict[Hash, dict[str, object]] = {}
        self.pending: list[tuple[Hash, dict[str, object]]] = []  # records of new entries
        self.new_records: list[dict[str, object]] = []
        self.several: set[Hash] = set()  # new entries listed by several records

    def record_values(self, ext: str, item: EntryInput) -> dict[str, object]:
        return {
            "bank_id": self.bank_id,
            "source": self.source,
            "external_id": ext,
            "source_ref": self.source_ref,
            "category": item.category,
            "labels": list(item.labels),
            "first_seen": self.now,
            "last_seen": self.now,
        }

    def entry_values(self, item: EntryInput) -> dict[str, object]:
        return {
            "bank_id": self.bank_id,
            "signal_type": item.signal_type,
            "value": item.value,
            "quality": item.quality,
            "category": item.category,
            "labels": list(item.labels),
            "source": entry_kind(self.source),
            "source_ref": self.source_ref,
            "external_id": item.external_id,
            "note": item.note,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def add(self, key: Key, item: EntryInput, row: EntryRow | None, recs: list[EntrySourceRow]) -> None:
        st, value, ext = key
        report = self.report
        if row is None:
            if (st, value) in self.new_entries:
                report.updated += 1
                self.several.add((st, value))
            else:
                self.new_entries[(st, value)] = self.entry_values(item)
                report.added += 1
            self.pending.append(((st, value), self.record_values(ext, item)))
            return
        # the record of this source (the generic sources share theirs: an export read back in
        # is the same record)
        same = [r for r in recs if r.source in self.scope and r.external_id == ext]
        rec = next((r for r in same if r.source == self.source), same[0] if same else None)
        if rec is None:
            self.new_records.append({**self.record_values(ext, item), "entry_id": row.id})
            _update_entry(row, item)
            self.touched.add(row.id)
            report.updated += 1
        elif rec.withdrawn_at is not None:
            report.kept_retracted += 1  # withdrawn here: a re-import does not bring it back
        elif _update_record(rec, item, self.source_ref, self.now) | _update_entry(row, item):
            self.touched.add(row.id)
            report.updated += 1
        else:
            report.unchanged += 1  # last_seen stays: it is when the source last changed the record

    def write(self) -> None:
        s = self.s
        if self.new_entries:
            values = list(self.new_entries.values())
            for entry, seq in zip(values, seq_range(s, len(values)), strict=True):
                entry["seq"] = seq
            ids = s.scalars(
                insert(EntryRow).returning(EntryRow.id, sort_by_parameter_order=True), values
            ).all()
            id_of = dict(zip(self.new_entries, ids, strict=True))
            for hash_, record in self.pending:
                record["entry_id"] = id_of[hash_]
                self.new_records.append(record)
            self.touched.update(id_of[h] for h in self.several)
        if self.new_records:
            s.execute(insert(EntrySourceRow), self.new_records)

    def withdraw_hashes(self, withdrawals: list[tuple[Key, EntryInput]]) -> None:
        rows = _existing(self.s, self.bank_id, {(st, v) for (st, v, _), _ in withdrawals})
        recs = records_of(self.s, [r.id for r in rows.values()])
        scope = self.scope
        for (st, value, ext), item in withdrawals:
            row = rows.get((st, value))
            mine = [
                r
                for r in (recs.get(row.id, []) if row is not None else [])
                if r.source in scope and (not ext or r.external_id == ext)
            ]
            if row is None or not mine:
                self.report.unknown_withdrawals += 1
                continue
            done = withdraw(mine, item.retraction_reason or DEFAULT_WITHDRAWAL)
            if done:
                self.report.retracted += len(done)
                self.touched.add(row.id)
            else:
                self.report.unchanged += 1


def apply_batch(
    s: Session,
    bank_id: int,
    items: list[EntryInput],
    source: str,
    source_ref: str | None,
) -> ImportReport:
    """Apply validated items of one source to one bank. Re-applying the same items changes nothing."""
    batch = _Batch(s, bank_id, str(source), source_ref)
    report = batch.report
    by_key: dict[Key, EntryInput] = {}  # the last occurrence of a record's signal wins
    by_external: dict[str, EntryInput] = {}  # withdrawals by external id, applied last
    for item in items:
        if item.retract and not item.signal_type and item.external_id:
            by_external[record_key(item.external_id)] = item
            continue
        key = (item.signal_type, item.value, record_key(item.external_id))
        prev = by_key.get(key)
        if prev is not None and not prev.retract and not item.retract:
            if _same(prev, item):
                report.unchanged += 1
            else:
                report.updated += 1  # a second row for the hash that says something else
        by_key[key] = item
    adds = [(k, i) for k, i in by_key.items() if not i.retract]
    existing = _existing(s, bank_id, {(st, v) for (st, v, _), _ in adds})
    recs = records_of(s, [r.id for r in existing.values()]) if existing else {}
    for key, item in adds:
        row = existing.get((key[0], key[1]))
        batch.add(key, item, row, recs.get(row.id, []) if row is not None else [])
    batch.write()
    withdrawals = [(k, i) for k, i in by_key.items() if i.retract]
    if withdrawals:
        batch.withdraw_hashes(withdrawals)
    if by_external:
        report.merge(withdraw_external(s, bank_id, str(source), by_external, batch.touched))
    refresh_entries(s, batch.touched)
    return report


def withdraw_external(
    s: Session, bank_id: int, source: str, items: dict[str, EntryInput], touched: set[int]
) -> ImportReport:
    """Withdraw every live record (of ``source``'s :func:`withdrawal_scope`) carrying one of these external ids (records added
    earlier in the same batch included: a file that adds and then deletes an entry ends with it
    withdrawn). The entries they list are added to ``touched``."""
    report = ImportReport()
    found: dict[str, list[EntrySourceRow]] = {}
    query = select(EntrySourceRow).where(
        EntrySourceRow.bank_id == bank_id,
        EntrySourceRow.source.in_(withdrawal_scope(source)),
        EntrySourceRow.external_id.in_(list(items)),
    )
    for rec in s.scalars(query):
        found.setdefault(rec.external_id, []).append(rec)
    for external_id, item in items.items():
        recs = found.get(external_id)
        if not recs:
            report.unknown_withdrawals += 1
            continue
        done = withdraw(recs, item.retraction_reason or DEFAULT_WITHDRAWAL)
        if not done:
            report.unchanged += 1
        report.retracted += len(done)
        touched.update(r.entry_id for r in done)
    return report
