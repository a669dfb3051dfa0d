"""Records of an exchange applied to the local bank it feeds, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ohsc.banks.model import EntryInput, EntrySource, ImportReport
from ohsc.banks.service import BankService
from ohsc.errors import OhscError
from ohsc.exchanges.model import ExchangeRecord
from ohsc.signals import get_signal_type


@dataclass(slots=True)
class Checked:
    """Records whose every signal reads, and notes on the ones left out."""

    records: list[ExchangeRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_records(records: Sequence[ExchangeRecord]) -> Checked:
    """Normalise every signal; a record with one that does not read is skipped with a note (the
    fetch goes on: one bad record never stops an exchange)."""
    out = Checked()
    for record in records:
        if record.withdrawn:
            out.records.append(record)
            continue
        try:
            signals = tuple(_normalised(name, value) for name, value in record.signals)
        except OhscError as exc:
            out.notes.append(f"record {record.source_id!r} skipped: {exc.message}")
            continue
        if not signals:
            out.notes.append(f"record {record.source_id!r} skipped: no signal OHSC can match")
            continue
        out.records.append(
            ExchangeRecord(record.source_id, signals, record.category, record.labels, withdrawn=False)
        )
    return out


def _normalised(signal_type: str, value: str) -> tuple[str, str]:
    st = get_signal_type(signal_type)
    return st.name, st.validate(value)


def to_inputs(records: Sequence[ExchangeRecord]) -> list[EntryInput]:
    """Bank inputs: one per signal of a record; a withdrawal names the record by its source id."""
    items: list[EntryInput] = []
    for n, record in enumerate(records, 1):
        if record.withdrawn:
            items.append(
                EntryInput(
                    "",
                    "",
                    external_id=record.source_id,
                    retract=True,
                    line=n,
                    retraction_reason="withdrawn by the exchange",
                )
            )
            continue
        for signal_type, value in record.signals:
            items.append(
                EntryInput(
                    signal_type,
                    value,
                    category=record.category,
                    labels=list(record.labels),
                    external_id=record.source_id,
                    line=n,
                )
            )
    return items


def apply_records(
    s: Session, banks: BankService, bank_id: int, exchange: str, records: Sequence[ExchangeRecord]
) -> ImportReport:
    """Apply checked records to bank ``bank_id`` as source ``exchange`` (in ``s``)."""
    return banks.add_entries_in(
        s, bank_id, to_inputs(records), source=EntrySource.EXCHANGE, source_ref=exchange
    )
