"""Withdrawing and restoring entries: a part of :class:`~ohsc.banks.service.BankService`
(which it is mixed into)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.banks.lookup import find_targets
from ohsc.banks.model import (
    BankEntry,
)
from ohsc.banks.reading import to_entry
from ohsc.banks.records import (
    records_of,
    refresh_entries,
    restore_rows,
    retract_rows,
    unwithdraw,
    withdraw,
)
from ohsc.errors import EntryNotFoundError, InvalidInputError
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import BankRow, EntryRow, EntrySourceRow


class Retraction:
    """Retract and restore entries (named by id, external id or hash), audited."""

    store: Store
    settings: Settings
    actor: str

    if TYPE_CHECKING:  # provided by BankService

        def _get_row(self, s: Session, ref: str | int) -> BankRow: ...

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
            return [to_entry(r, bank.name) for r in rows]

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
