"""Records of an exchange applied to the local bank it feeds, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ohsc.banks.model import EntryInput, ImportReport
from ohsc.banks.records import no_longer_listed, refresh_entries, withdraw
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
    fetch goes on: one bad record never stops an exchange). A record whose signals are already
    normal is kept as it is."""
    out = Checked()
    normalise = _Normaliser()
    for record in records:
        if record.withdrawn:
            out.records.append(record)
            continue
        try:
            signals = tuple(normalise(name, value) for name, value in record.signals)
        except OhscError as exc:
            out.notes.append(f"record {record.source_id!r} skipped: {exc.message}")
            continue
        if not signals:
            out.notes.append(f"record {record.source_id!r} skipped: no signal OHSC can match")
        elif signals == record.signals:
            out.records.append(record)
        else:
            out.records.append(
                ExchangeRecord(record.source_id, signals, record.category, record.labels, withdrawn=False)
            )
    return out


class _Normaliser:
    """A signal's type name and normal value (the signal type found once per name)."""

    def __init__(self) -> None:
        self.types: dict[str, tuple[str, Callable[[str], str]]] = {}

    def __call__(self, signal_type: str, value: str) -> tuple[str, str]:
        found = self.types.get(signal_type)
        if found is None:
            st = get_signal_type(signal_type)
            found = self.types[signal_type] = (st.name, st.validate)
        return found[0], found[1](value)


def source_name(exchange: str) -> str:
    """The source records of an exchange are named ``exchange:<name>`` (see :mod:`ohsc.banks.records`)."""
    return f"exchange:{exchange}"


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


def _drop_unlisted(s: Session, bank_id: int, source: str, records: Sequence[ExchangeRecord]) -> int:
    """Withdraw the signals a record listed before and lists no more (a record replaces itself)."""
    listed = {r.source_id: set(r.signals) for r in records if not r.withdrawn}
    if not listed:
        return 0
    gone = no_longer_listed(s, bank_id, source, listed)
    done = withdraw(gone, "no longer listed by the exchange")
    refresh_entries(s, {r.entry_id for r in done})
    return len(done)


def apply_records(
    s: Session,
    banks: BankService,
    bank_id: int,
    exchange: str,
    records: Sequence[ExchangeRecord],
    *,
    replace_signals: bool = True,
) -> ImportReport:
    """Apply checked records (see :func:`check_records`) to bank ``bank_id`` as the source
    records of ``exchange`` (in ``s``): another source listing the same hash keeps it matching
    when this exchange withdraws it, and a record the exchange withdrew and lists again comes
    back (the exchange is the authority on its own records: an entry restored on a publisher, a
    StopNCII hash active again)."""
    source = source_name(exchange)
    report = banks.add_entries_in(
        s, bank_id, to_inputs(records), source=source, source_ref=exchange, normalised=True, relist=True
    )
    if replace_signals:
        report.retracted += _drop_unlisted(s, bank_id, source, records)
    return report
