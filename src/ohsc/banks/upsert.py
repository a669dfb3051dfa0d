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

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, Table, func, literal, select
from sqlalchemy.orm import Session

from ohsc.banks.model import EntryInput, ImportReport, RowError
from ohsc.banks.records import (
    CHUNK,
    DEFAULT_WITHDRAWAL,
    record_key,
    records_of,
    refresh_entries,
    restore_rows,
    retract_rows,
    seq_range,
    unwithdraw,
    withdraw,
)
from ohsc.errors import OhscError
from ohsc.signals import SIGNAL_TYPES
from ohsc.store.models import EntryRow, EntrySourceRow
from ohsc.store.types import utcnow

__all__ = [
    "apply_batch",
    "copy_first_records",
    "entry_kind",
    "insert_plain",
    "restore_rows",
    "retract_rows",
    "store_payloads",
    "withdraw_external",
]

#: Entry fields that are the entry's own (the rest summarise its records).
ENTRY_FIELDS = ("note", "quality")
Key = tuple[str, str, str]
ENTRIES: Table = EntryRow.__table__  # type: ignore[assignment]
SOURCES: Table = EntrySourceRow.__table__  # type: ignore[assignment]
Hash = tuple[str, str]


#: Sources that are one family for withdrawals: a file may withdraw what was added by hand, by an
#: earlier file or through the API. Named sources (``review``, ``exchange:<name>``, an import's
#: ``--source``) withdraw only their own records.
GENERIC_SOURCES = ("manual", "file", "import", "api")


def withdrawal_scope(source: str) -> tuple[str, ...]:
    """The sources whose records a withdrawal from ``source`` may remove."""
    return GENERIC_SOURCES if source in GENERIC_SOURCES else (source,)


_FIRST_RECORD_COLUMNS = [
    "bank_id",
    "entry_id",
    "source",
    "external_id",
    "source_ref",
    "category",
    "labels",
    "first_seen",
    "last_seen",
]

_SET_KEY_QMARK = "UPDATE entry_sources SET record_key = ? WHERE entry_id = ? AND source = ?"
_SET_KEY_FORMAT = "UPDATE entry_sources SET record_key = %s WHERE entry_id = %s AND source = %s"


def _set_record_keys(s: Session, rows: list[tuple[str, int, str]]) -> None:
    """``(record_key, entry_id, source)`` rows, as one plain executemany (plain strings and
    integers: nothing for SQLAlchemy to convert, and converting 2,000 rows a batch showed)."""
    conn = s.connection()
    conn.exec_driver_sql(_SET_KEY_QMARK if conn.dialect.paramstyle == "qmark" else _SET_KEY_FORMAT, rows)


def _converted(values: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """``convert`` of each value, computed once per run of equal values and once per distinct
    value (lists by their items). A batch's rows share their timestamps (one object) and mostly
    their labels, so nearly every value is the previous one."""
    seen: dict[object, Any] = {}
    out: list[Any] = []
    append = out.append
    last: Any = _NOTHING
    last_out: Any = None
    for value in values:
        if value is last or (value.__class__ is last.__class__ and value == last):
            append(last_out)
            continue
        key = (value.__class__, tuple(value) if value.__class__ is list else value)
        try:
            last_out = seen[key]
        except KeyError:
            seen[key] = last_out = convert(value)
        except TypeError:  # unhashable items
            last_out = convert(value)
        last = value
        append(last_out)
    return out


_NOTHING = object()


def insert_plain(s: Session, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) as one plain executemany of the driver, each
    value converted by its column's type once per distinct value. A batch's rows share their
    timestamps and mostly their labels; converting them row by row (SQLAlchemy's executemany)
    was the larger part of writing a page of an exchange. The parameters are built a column at
    a time (a column without a converter is taken as it is), then zipped into rows."""
    if not rows:
        return
    conn = s.connection()
    dialect = conn.dialect
    names = list(rows[0])
    columns: list[list[Any]] = []
    for name in names:
        values = [row[name] for row in rows]
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        columns.append(_converted(values, convert) if convert is not None else values)
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (  # names from the table's metadata, quoted; values only as parameters
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
        f"VALUES ({', '.join(mark for _ in names)})"
    )
    conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))


def _index_order(entry: Mapping[str, object]) -> tuple[str, str]:
    return str(entry["signal_type"]), str(entry["value"])


def _first_records(source: str, fresh: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    return select(
        EntryRow.bank_id,
        EntryRow.id,
        literal(source, String),
        func.coalesce(EntryRow.external_id, ""),
        EntryRow.source_ref,
        EntryRow.category,
        EntryRow.labels,
        EntryRow.created_at,
        EntryRow.created_at,
    ).where(fresh)


def copy_first_records(s: Session, source: str, seqs: range) -> None:
    """Each entry stamped with a sequence number in ``seqs`` (entries just inserted) gets its
    first record of ``source``, copied from the entry row in one statement."""
    fresh = EntryRow.seq.between(seqs[0], seqs[-1])
    s.execute(SOURCES.insert().from_select(_FIRST_RECORD_COLUMNS, _first_records(source, fresh)))


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
    return (a.category, sorted(a.labels), a.note, a.quality, a.record) == (
        b.category,
        sorted(b.labels),
        b.note,
        b.quality,
        b.record,
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
    if item.record is not None and item.record != rec.record_key:
        rec.record_key = item.record
        changed = True
    if changed:
        rec.last_seen = now
        rec.source_ref = source_ref
    return changed


def _existing_ids(s: Session, bank_id: int, st: str, values: Sequence[str]) -> list[int]:
    """Ids of the bank's entries among these values of one signal type: a plain query of the
    driver (an IN list of thousands of values costs SQLAlchemy more than the database, and a
    page of new hashes finds none)."""
    conn = s.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    found: list[int] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        sql = (  # noqa: S608 (only placeholders are formatted in)
            "SELECT id FROM bank_entries WHERE bank_id = {m} AND signal_type = {m} AND value IN ({ms})"
        ).format(m=mark, ms=", ".join(mark for _ in chunk))
        found.extend(i for (i,) in conn.exec_driver_sql(sql, (bank_id, st, *chunk)))
    return found


def _existing(s: Session, bank_id: int, hashes: Iterable[Hash]) -> dict[Hash, EntryRow]:
    by_type: dict[str, list[str]] = {}
    for st, value in hashes:
        by_type.setdefault(st, []).append(value)
    s.flush()  # the plain query below does not flush the session
    ids: list[int] = []
    for st, values in by_type.items():
        ids.extend(_existing_ids(s, bank_id, st, values))
    found: dict[Hash, EntryRow] = {}
    for start in range(0, len(ids), CHUNK):
        for row in s.scalars(select(EntryRow).where(EntryRow.id.in_(ids[start : start + CHUNK]))):
            found[(row.signal_type, row.value)] = row
    return found


class _Batch:
    """One batch applied to one bank for one source."""

    def __init__(self, s: Session, bank_id: int, source: str, source_ref: str | None, relist: bool) -> None:
        self.s, self.bank_id, self.source, self.source_ref = s, bank_id, source, source_ref
        self.relist = relist
        self.report = ImportReport()
        self.scope = withdrawal_scope(source)
        self.kind = entry_kind(source)
        self.now = utcnow()
        self.touched: set[int] = set()
        self.new_entries: dict[Hash, dict[str, object]] = {}
        self.pending: list[tuple[Hash, dict[str, object]]] = []  # records of new entries
        self.new_records: list[dict[str, object]] = []
        self.several: set[Hash] = set()  # new entries listed by several records
        self.first_keys: dict[Hash, str] = {}  # record keys of new entries' first records

    def record_values(self, ext: str, item: EntryInput) -> dict[str, object]:
        return {
            "bank_id": self.bank_id,
            "source": self.source,
            "external_id": ext,
            "source_ref": self.source_ref,
            "record_key": item.record,
            "category": item.category,
            "labels": list(item.labels),
            "first_seen": self.now,
            "last_seen": self.now,
        }

    def entry_values(self, item: EntryInput, ext: str) -> dict[str, object]:
        return {
            "bank_id": self.bank_id,
            "signal_type": item.signal_type,
            "value": item.value,
            "quality": item.quality,
            "category": item.category,
            "labels": list(item.labels),
            "source": self.kind,
            "source_ref": self.source_ref,
            "external_id": ext or None,
            "note": item.note,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def add(self, key: Key, item: EntryInput, row: EntryRow | None, recs: list[EntrySourceRow]) -> None:
        st, value, ext = key
        report = self.report
        if row is None:
            if (st, value) in self.new_entries:  # a second record for a new hash
                report.updated += 1
                self.several.add((st, value))
                self.pending.append(((st, value), self.record_values(ext, item)))
            else:  # its first record is copied from the entry row (see write)
                self.new_entries[(st, value)] = self.entry_values(item, ext)
                if item.record is not None:
                    self.first_keys[(st, value)] = item.record
                report.added += 1
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
        elif rec.withdrawn_at is not None and not (self.relist and rec.source == self.source):
            report.kept_retracted += 1  # withdrawn here: a re-import does not bring it back
        elif rec.withdrawn_at is not None:  # listed again by the source that withdrew it
            unwithdraw([rec])
            _update_record(rec, item, self.source_ref, self.now)
            _update_entry(row, item)
            self.touched.add(row.id)
            report.updated += 1
        elif _update_record(rec, item, self.source_ref, self.now) | _update_entry(row, item):
            self.touched.add(row.id)
            report.updated += 1
        else:
            report.unchanged += 1  # last_seen stays: it is when the source last changed the record

    def write(self) -> None:
        s = self.s
        if self.new_entries:
            values = list(self.new_entries.values())
            seqs = seq_range(s, len(values))
            for entry, seq in zip(values, seqs, strict=True):
                entry["seq"] = seq
            # a plain executemany (RETURNING in parameter order goes row by row on SQLite); the
            # entries' fresh sequence numbers then find their ids in one indexed range query
            insert_plain(s, ENTRIES, values)
            # each new entry's first record is the entry's own metadata: copied in one statement
            copy_first_records(s, self.source, seqs)
            fresh = EntryRow.seq.between(seqs[0], seqs[-1])
            if self.pending or self.first_keys:
                found = s.execute(select(EntryRow.seq, EntryRow.id).where(fresh))
                id_by_seq = {seq: entry_id for seq, entry_id in found}
                id_of = {_index_order(v): id_by_seq[seq] for v, seq in zip(values, seqs, strict=True)}
                for hash_, record in self.pending:
                    record["entry_id"] = id_of[hash_]
                    self.new_records.append(record)
                self.touched.update(id_of[h] for h in self.several)
                if self.first_keys:
                    keys = [(k, id_of[h], self.source) for h, k in self.first_keys.items()]
                    _set_record_keys(s, keys)
        if self.new_records:
            insert_plain(s, SOURCES, self.new_records)

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
    *,
    relist: bool = False,
) -> ImportReport:
    """Apply validated items of one source to one bank. Re-applying the same items changes nothing.

    A record that was withdrawn stays withdrawn when a file lists it again (``kept_retracted``),
    unless ``relist``: the source is the authority on its own records (an exchange: an entry
    restored on the publisher, a StopNCII hash active again), so its record comes back."""
    batch = _Batch(s, bank_id, str(source), source_ref, relist)
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
