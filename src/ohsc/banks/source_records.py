"""Whole source records (what API exchanges build on): a part of
:class:`~ohsc.banks.service.BankService` (which it is mixed into)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ohsc.banks.model import (
    EntryInput,
    ImportReport,
    ReadNote,
    RecordInput,
    RowError,
)
from ohsc.banks.records import (
    no_longer_listed,
    record_key,
    refresh_entries,
    withdraw,
)
from ohsc.errors import OhscError
from ohsc.settings import Settings
from ohsc.signals import get_signal_type
from ohsc.store.db import Store
from ohsc.store.models import BankRow

#: Entries per committed batch (records go in quarters of it: a record may list several signals).
BATCH = 2000


class SourceRecords:
    """Upsert and withdraw whole source records of a source, keyed by external id."""

    store: Store
    settings: Settings
    actor: str

    if TYPE_CHECKING:  # provided by BankService

        def _get_row(self, s: Session, ref: str | int) -> BankRow: ...

        def _apply_stream(
            self,
            bank_id: int,
            items: Iterable[EntryInput | RowError | ReadNote],
            source: str,
            source_ref: str | None,
        ) -> ImportReport: ...

        def _audit_added(
            self, s: Session, bank_id: int, source: str, source_ref: str | None, report: ImportReport
        ) -> None: ...

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
            gone = no_longer_listed(s, bank_id, source, listed)
            done = withdraw(gone, "no longer listed by its source")
            if done:
                refresh_entries(s, {r.entry_id for r in done})
                report.retracted += len(done)
                self._audit_added(s, bank_id, source, None, report)
        return report
