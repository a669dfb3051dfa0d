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
from ohsc.store.models import EntryRow


def source_ref(item_id: int) -> str:
    return f"review:{item_id}"


def withdrawal_reason(item_id: int, why: str) -> str:
    return f"review item {item_id}: {why}"


def add_content(s: Session, banks: BankService, bank_id: int, content: ContentRow, item_id: int) -> list[int]:
    """Add the content's hashes to a bank; returns the ids of the entries this created or
    brought back (what an undo withdraws)."""
    signals = dict(content.signals)
    if not signals:
        return []
    ref = source_ref(item_id)
    own = EntryRow.bank_id == bank_id, EntryRow.source_ref == ref
    withdrawn_by_review = list(
        s.scalars(
            select(EntryRow).where(
                *own,
                EntryRow.retracted_at.is_not(None),
                EntryRow.retraction_reason.startswith(withdrawal_reason(item_id, "")),
            )
        )
    )
    restored = banks.set_retracted_in(s, bank_id, withdrawn_by_review, None)
    newest = s.scalar(select(func.max(EntryRow.id))) or 0
    items = [
        EntryInput(
            signal_type=name,
            value=value,
            quality=content.pdq_quality if name == "pdq" else None,
            note=f"from review item {item_id}",
        )
        for name, value in sorted(signals.items())
    ]
    banks.add_entries_in(s, bank_id, items, source=EntrySource.REVIEW, source_ref=ref)
    created = s.scalars(select(EntryRow.id).where(*own, EntryRow.id > newest))
    return sorted({*restored, *created})


def withdraw(s: Session, banks: BankService, entry_ids: Iterable[int], reason: str) -> list[int]:
    """Retract these entries (those still active), bank by bank; returns the ids retracted."""
    ids = list(entry_ids)
    rows = list(s.scalars(select(EntryRow).where(EntryRow.id.in_(ids)))) if ids else []
    by_bank: dict[int, list[EntryRow]] = {}
    for row in rows:
        by_bank.setdefault(row.bank_id, []).append(row)
    done: list[int] = []
    for bank_id, bank_rows in sorted(by_bank.items()):
        done.extend(banks.set_retracted_in(s, bank_id, bank_rows, reason))
    return done
