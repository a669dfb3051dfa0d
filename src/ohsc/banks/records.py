"""Source records: who lists a bank entry, and what follows for the entry.

An entry (one signal type and value in one bank) is listed by one or more source records
(:class:`ohsc.store.models.EntrySourceRow`), each keyed by ``(entry, source, external_id)``. A
withdrawal removes one record; :func:`refresh_entries` then decides the entry: it matches while
at least one live record lists it (retracted, with a new ``entry_seq`` value, when the last one
goes; restored when one comes back), and its category, labels and external id summarise the live
records.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc.banks.model import SourceRecord
from ohsc.store.db import next_seq
from ohsc.store.models import EntryRow, EntrySourceRow
from ohsc.store.types import utcnow

DEFAULT_WITHDRAWAL = "withdrawn by source"
#: External ids that name no record: NIST's NSRL/CAID VICS files give MediaID 0 to every record.
PLACEHOLDER_IDS = frozenset({"0"})
CHUNK = 2000


def record_key(external_id: str | None) -> str:
    """How an external id is stored in a record (``""``: none)."""
    return (external_id or "").strip()


def to_record(row: EntrySourceRow) -> SourceRecord:
    return SourceRecord(
        source=row.source,
        external_id=row.external_id or None,
        category=row.category,
        labels=tuple(row.labels or ()),
        source_ref=row.source_ref,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        withdrawn_at=row.withdrawn_at,
        withdrawal_reason=row.withdrawal_reason,
        record_key=row.record_key,
    )


def records_of(s: Session, entry_ids: Collection[int]) -> dict[int, list[EntrySourceRow]]:
    """Every record of these entries, oldest first."""
    out: dict[int, list[EntrySourceRow]] = {}
    ids = sorted(set(entry_ids))
    for start in range(0, len(ids), CHUNK):
        query = (
            select(EntrySourceRow)
            .where(EntrySourceRow.entry_id.in_(ids[start : start + CHUNK]))
            .order_by(EntrySourceRow.id)
        )
        for rec in s.scalars(query):
            out.setdefault(rec.entry_id, []).append(rec)
    return out


def seq_range(s: Session, n: int) -> range:
    """Reserve ``n`` consecutive ``entry_seq`` values (held until commit)."""
    last = next_seq(s, "entry_seq", n)
    return range(last - n + 1, last + 1)


def retract_rows(s: Session, targets: Sequence[tuple[EntryRow, str]]) -> int:
    """Retract entries with their reasons, stamping each with a new sequence number."""
    now = utcnow()
    for (row, reason), seq in zip(targets, seq_range(s, len(targets)) if targets else (), strict=True):
        row.retracted_at = now
        row.retraction_reason = reason or DEFAULT_WITHDRAWAL
        row.updated_at = now
        row.seq = seq
    return len(targets)


def restore_rows(s: Session, rows: Sequence[EntryRow]) -> int:
    now = utcnow()
    for row, seq in zip(rows, seq_range(s, len(rows)) if rows else (), strict=True):
        row.retracted_at = None
        row.retraction_reason = None
        row.updated_at = now
        row.seq = seq
    return len(rows)


def withdraw(recs: Iterable[EntrySourceRow], reason: str | None) -> list[EntrySourceRow]:
    """Mark live records withdrawn; returns those that were live."""
    now = utcnow()
    done = []
    for rec in recs:
        if rec.withdrawn_at is None:
            rec.withdrawn_at = now
            rec.withdrawal_reason = reason or DEFAULT_WITHDRAWAL
            rec.last_seen = now
            done.append(rec)
    return done


def no_longer_listed(
    s: Session, bank_id: int, source: str, listed: dict[str, set[tuple[str, str]]]
) -> list[EntrySourceRow]:
    """The live records of ``source`` whose external id is in ``listed`` but whose signal it no
    longer lists (``listed``: external id -> the (signal type, value) pairs listed now)."""
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
    return [rec for rec, st, value in s.execute(query) if (st, value) not in listed[rec.external_id]]


def unwithdraw(recs: Iterable[EntrySourceRow]) -> list[EntrySourceRow]:
    now = utcnow()
    done = []
    for rec in recs:
        if rec.withdrawn_at is not None:
            rec.withdrawn_at = None
            rec.withdrawal_reason = None
            rec.last_seen = now
            done.append(rec)
    return done


def _labels(live: Sequence[EntrySourceRow]) -> list[str]:
    seen: dict[str, None] = {}
    for rec in live:
        for label in rec.labels or ():
            seen[label] = None
    return list(seen)


def _summarise(row: EntryRow, live: Sequence[EntrySourceRow]) -> bool:
    """Category, labels and external id of an entry from its live records. True if changed."""
    labels = _labels(live)
    categories = [r.category for r in live if r.category]
    external = [r.external_id for r in live if r.external_id]
    category = row.category if row.category in categories else (categories[0] if categories else row.category)
    external_id = row.external_id if row.external_id in external else (external[0] if external else None)
    changed = False
    if sorted(labels) != sorted(row.labels or []):
        row.labels = labels
        changed = True
    if category != row.category:
        row.category = category
        changed = True
    if external_id != row.external_id:
        row.external_id = external_id
        changed = True
    return changed


def refresh_entries(s: Session, entry_ids: Collection[int]) -> tuple[int, int]:
    """Bring these entries in line with their records: retract those no live record lists,
    restore those one lists again, summarise metadata. Returns (retracted, restored)."""
    if not entry_ids:
        return 0, 0
    s.flush()
    recs = records_of(s, entry_ids)
    ids = sorted(set(entry_ids))
    rows: list[EntryRow] = []
    for start in range(0, len(ids), CHUNK):
        rows.extend(s.scalars(select(EntryRow).where(EntryRow.id.in_(ids[start : start + CHUNK]))))
    now = utcnow()
    to_retract: list[tuple[EntryRow, str]] = []
    to_restore: list[EntryRow] = []
    for row in rows:
        mine = recs.get(row.id, [])
        live = [r for r in mine if r.withdrawn_at is None]
        if not mine:
            continue  # an entry without records (not written by this code): leave it
        if live:
            if _summarise(row, live):
                row.updated_at = now
            if row.retracted_at is not None:
                to_restore.append(row)
        elif row.retracted_at is None:
            last = max(mine, key=lambda r: (r.withdrawn_at or now, r.id))
            to_retract.append((row, last.withdrawal_reason or DEFAULT_WITHDRAWAL))
    return retract_rows(s, to_retract), restore_rows(s, to_restore)
