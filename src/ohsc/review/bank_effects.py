"""What a decision does to banks, in the decision's own transaction, and how an undo or a
reopen takes it back.

Confirm can add the content's hashes to a bank, not abuse to an allowlist bank. The decision
remembers the entries it created (or brought back after its own earlier withdrawal); an undo or
a reopen withdraws exactly those, never an entry that was in the bank before.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ohsc.banks.model import EntryInput, EntrySource
from ohsc.banks.service import BankService
from ohsc.content.models import ContentRow
from ohsc.store.models import EntryRow, EntrySourceRow


def source_ref(item_id: int) -> str:
    return f"review:{item_id}"


def withdrawal_reason(item_id: int, why: str) -> str:
    return f"review item {item_id}: {why}"


def _review_records(s: Session, entry_ids: Iterable[int], item_id: int | None) -> list[EntrySourceRow]:
    """The records a review decision put on these entries (its own: source ``review`` with the
    item's reference as external id; before 0008, the review record without one)."""
    ids = list(entry_ids)
    if not ids:
        return []
    refs = ["", source_ref(item_id)] if item_id is not None else [""]
    return list(
        s.scalars(
            select(EntrySourceRow).where(
                EntrySourceRow.entry_id.in_(ids),
                EntrySourceRow.source == EntrySource.REVIEW.value,
                EntrySourceRow.external_id.in_(refs)
                if item_id is not None
                else EntrySourceRow.id.is_not(None),
            )
        )
    )


def add_content(s: Session, banks: BankService, bank_id: int, content: ContentRow, item_id: int) -> list[int]:
    """Add the content's hashes to a bank as the review item's own source record; returns the
    ids of the entries this created or brought back (what an undo withdraws)."""
    signals = dict(content.signals)
    if not signals:
        return []
    ref = source_ref(item_id)
    withdrawn_by_review = [
        rec
        for rec in s.scalars(
            select(EntrySourceRow).where(
                EntrySourceRow.bank_id == bank_id,
                EntrySourceRow.source == EntrySource.REVIEW.value,
                EntrySourceRow.external_id == ref,
                EntrySourceRow.withdrawn_at.is_not(None),
                EntrySourceRow.withdrawal_reason.startswith(withdrawal_reason(item_id, "")),
            )
        )
    ]
    restored: list[int] = []
    if withdrawn_by_review:
        rows = list(
            s.scalars(select(EntryRow).where(EntryRow.id.in_({r.entry_id for r in withdrawn_by_review})))
        )
        restored = banks.set_retracted_in(s, bank_id, rows, None, records=withdrawn_by_review)
    newest = s.scalar(select(func.max(EntryRow.id))) or 0
    items = [
        EntryInput(
            signal_type=name,
            value=value,
            quality=content.pdq_quality if name == "pdq" else None,
            note=f"from review item {item_id}",
            external_id=ref,
        )
        for name, value in sorted(signals.items())
    ]
    banks.add_entries_in(s, bank_id, items, source=EntrySource.REVIEW, source_ref=ref)
    created = s.scalars(
        select(EntryRow.id).where(
            EntryRow.bank_id == bank_id, EntryRow.source_ref == ref, EntryRow.id > newest
        )
    )
    return sorted({*restored, *created})


def withdraw(
    s: Session, banks: BankService, entry_ids: Iterable[int], reason: str, *, item_id: int | None = None
) -> list[int]:
    """Withdraw the review's own records of these entries, bank by bank; returns the ids of the
    entries that stopped matching (an entry another source lists stays)."""
    ids = list(entry_ids)
    rows = list(s.scalars(select(EntryRow).where(EntryRow.id.in_(ids)))) if ids else []
    records = _review_records(s, ids, item_id)
    by_bank: dict[int, list[EntryRow]] = {}
    for row in rows:
        by_bank.setdefault(row.bank_id, []).append(row)
    done: list[int] = []
    for bank_id, bank_rows in sorted(by_bank.items()):
        mine = {r.id for r in bank_rows}
        done.extend(
            banks.set_retracted_in(
                s, bank_id, bank_rows, reason, records=[r for r in records if r.entry_id in mine]
            )
        )
    return done
