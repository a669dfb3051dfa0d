"""The write path of a batch of entries: add, update metadata, withdraw.

Every change that matters for matching stamps its rows with new values of the ``entry_seq``
counter (:func:`stamp`), which is how running indexes find it (see :mod:`ohsc.index.manager`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ohsc.banks.model import EntryInput, EntrySource, ImportReport, RowError
from ohsc.errors import OhscError
from ohsc.signals import SIGNAL_TYPES
from ohsc.store.db import next_seq
from ohsc.store.models import EntryRow
from ohsc.store.types import utcnow

META_FIELDS = ("category", "labels", "external_id", "note", "quality")
DEFAULT_WITHDRAWAL = "withdrawn by source"


def seq_range(s: Session, n: int) -> range:
    """Reserve ``n`` consecutive ``entry_seq`` values (held until commit)."""
    last = next_seq(s, "entry_seq", n)
    return range(last - n + 1, last + 1)


def retract_rows(s: Session, targets: Sequence[tuple[EntryRow, str]]) -> int:
    """Retract rows with their reasons, stamping each with a new sequence number."""
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


def _update_metadata(row: EntryRow, item: EntryInput) -> bool:
    changed = False
    for name in META_FIELDS:
        new = getattr(item, name)
        if name == "labels":
            new = list(new)
            if sorted(new) == sorted(row.labels or []):
                continue
        elif new is None or new == getattr(row, name):
            continue  # a missing cell does not erase what we have
        setattr(row, name, new)
        changed = True
    return changed


def apply_batch(
    s: Session,
    bank_id: int,
    items: list[EntryInput],
    source: EntrySource,
    source_ref: str | None,
) -> ImportReport:
    """Apply validated items to one bank. Re-applying the same items changes nothing."""
    report = ImportReport()
    by_key: dict[tuple[str, str], EntryInput] = {}  # the last occurrence of a key wins
    by_external: dict[str, EntryInput] = {}  # withdrawals by external id, applied last
    for item in items:
        if item.retract and not item.signal_type and item.external_id:
            by_external[item.external_id] = item
            continue
        key = (item.signal_type, item.value)
        if key in by_key and not item.retract:
            report.unchanged += 1
        by_key[key] = item
    existing: dict[tuple[str, str], EntryRow] = {}
    by_type: dict[str, list[str]] = {}
    for st, value in by_key:
        by_type.setdefault(st, []).append(value)
    for st, values in by_type.items():
        query = select(EntryRow).where(
            EntryRow.bank_id == bank_id, EntryRow.signal_type == st, EntryRow.value.in_(values)
        )
        for found in s.scalars(query):
            existing[(found.signal_type, found.value)] = found

    now = utcnow()
    new_rows: list[dict[str, object]] = []
    to_retract: list[tuple[EntryRow, str]] = []
    for key, item in by_key.items():
        row = existing.get(key)
        if item.retract:
            if row is None:
                report.unknown_withdrawals += 1
            elif row.retracted_at is not None:
                report.unchanged += 1
            else:
                to_retract.append((row, item.retraction_reason or DEFAULT_WITHDRAWAL))
        elif row is None:
            new_rows.append(
                {
                    "bank_id": bank_id,
                    "signal_type": item.signal_type,
                    "value": item.value,
                    "quality": item.quality,
                    "category": item.category,
                    "labels": list(item.labels),
                    "source": str(source),
                    "source_ref": source_ref,
                    "external_id": item.external_id,
                    "note": item.note,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif row.retracted_at is not None:
            report.kept_retracted += 1
        elif _update_metadata(row, item):
            row.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1

    if new_rows:
        for new_row, seq in zip(new_rows, seq_range(s, len(new_rows)), strict=True):
            new_row["seq"] = seq
        s.execute(insert(EntryRow), new_rows)
        report.added += len(new_rows)
    report.retracted += retract_rows(s, to_retract)
    if by_external:
        report.merge(withdraw_external(s, bank_id, by_external))
    return report


def withdraw_external(s: Session, bank_id: int, items: dict[str, EntryInput]) -> ImportReport:
    """Retract every active entry carrying one of these external ids (rows added earlier in
    the same batch included: a file that adds and then deletes an entry ends with it retracted)."""
    report = ImportReport()
    found: dict[str, list[EntryRow]] = {}
    for row in s.scalars(
        select(EntryRow).where(EntryRow.bank_id == bank_id, EntryRow.external_id.in_(list(items)))
    ):
        found.setdefault(row.external_id or "", []).append(row)
    targets: list[tuple[EntryRow, str]] = []
    for external_id, item in items.items():
        rows = found.get(external_id)
        if not rows:
            report.unknown_withdrawals += 1
            continue
        active = [r for r in rows if r.retracted_at is None]
        if not active:
            report.unchanged += 1
        targets.extend((r, item.retraction_reason or DEFAULT_WITHDRAWAL) for r in active)
    report.retracted += retract_rows(s, targets)
    return report
