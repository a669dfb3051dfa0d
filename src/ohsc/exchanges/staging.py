"""A fresh bank's first sync: records staged in arrival order, moved into the bank in index order.

Written page by page, a long list of random hashes lands all over the bank's value indexes, and
each transaction rewrites most of their pages (about twice the work of the same rows written in
hash order, see docs/benchmarks.md, "Exchange, round 3"). So while an exchange's bank is empty,
a sync stages each page's checked records in ``exchange_staged`` (a table with no index on the
hashes; the page's checkpoint commits with them, as before), and at the end of the sync
:func:`move_staged` moves them into the bank in one transaction:

* records that need the record-by-record path are marked ``replay``: withdrawals, records with
  several signals or a payload signal, a source id or a hash staged more than once, and (should
  the bank have gained entries meanwhile) a hash or source id the bank already holds;
* the rest (each a new hash listed by one record, the common case) are inserted by one
  ``INSERT ... SELECT`` sorted by hash, then their first source records by another;
* the replayed records go through :func:`ohsc.exchanges.apply.apply_records` in arrival order.

The two sets share no hash and no source id, so the result is what applying the pages one by one
gives (entry ids and sequence numbers follow the hashes instead of the arrival order). A sync
killed while staging resumes from its checkpoint and stages on (staged rows keep a bank in
staging mode); a move killed half way rolls back whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from ohsc.banks.model import ImportReport
from ohsc.banks.records import CHUNK, record_key, seq_range
from ohsc.banks.service import BankService
from ohsc.banks.upsert import ENTRIES, copy_first_records, entry_kind, insert_plain
from ohsc.exchanges.apply import apply_records, source_name
from ohsc.exchanges.model import ExchangeRecord
from ohsc.exchanges.tables import ExchangeStagedRow as Staged
from ohsc.signals import SIGNAL_TYPES
from ohsc.store.models import EntryRow, EntrySourceRow
from ohsc.store.types import UTCDateTime, utcnow

STAGED: Table = Staged.__table__  # type: ignore[assignment]


def has_staged(s: Session, exchange_id: int) -> bool:
    return bool(s.scalar(select(exists().where(Staged.exchange_id == exchange_id))))


def forget_staged(s: Session, exchange_id: int) -> None:
    """Drop what ``exchange_id`` staged (its checkpoint goes back to the start with it)."""
    s.execute(delete(Staged).where(Staged.exchange_id == exchange_id))


def bank_is_empty(s: Session, bank_id: int) -> bool:
    return not s.scalar(select(exists().where(EntryRow.bank_id == bank_id)))


class _Replay:
    """Whether a record needs the record-by-record path whatever else is staged: a withdrawal,
    several signals, a signal kept as a payload (vPDQ), a source id that is empty or not as a
    record keeps it. The signal types are looked up once."""

    def __init__(self) -> None:
        self.payload: dict[str, bool] = {}

    def __call__(self, record: ExchangeRecord) -> bool:
        if record.withdrawn or len(record.signals) != 1 or not record.source_id:
            return True
        name = record.signals[0][0]
        payload = self.payload.get(name)
        if payload is None:
            st = SIGNAL_TYPES.get(name)
            payload = self.payload[name] = st is None or st.has_payload
        return payload or record_key(record.source_id) != record.source_id


def stage(s: Session, exchange_id: int, records: Sequence[ExchangeRecord]) -> None:
    """Stage checked records after those staged before (in ``s``)."""
    last = s.scalar(select(func.max(Staged.record)).where(Staged.exchange_id == exchange_id)) or 0
    rows: list[dict[str, object]] = []
    needs_replay = _Replay()
    for n, record in enumerate(records, last + 1):
        replay = needs_replay(record)
        signals: Sequence[tuple[str | None, str | None]] = (
            ((None, None),) if record.withdrawn or not record.signals else record.signals
        )
        for signal_type, value in signals:
            rows.append(
                {
                    "exchange_id": exchange_id,
                    "record": n,
                    "source_id": record.source_id,
                    "signal_type": signal_type,
                    "value": value,
                    "category": record.category,
                    "labels": list(record.labels),
                    "withdrawn": record.withdrawn,
                    "replay": replay,
                }
            )
    insert_plain(s, STAGED, rows)


def _mark_replay(s: Session, exchange_id: int, bank_id: int, source: str) -> None:
    """Mark the staged rows the bulk insert must leave to the record-by-record path."""
    mine = Staged.exchange_id == exchange_id
    counted = (
        select(
            Staged.id,
            Staged.replay,
            func.count().over(partition_by=Staged.source_id).label("by_id"),
            func.count().over(partition_by=(Staged.signal_type, Staged.value)).label("by_hash"),
        )
        .where(mine)
        .subquery()
    )
    shared = select(counted.c.id).where(~counted.c.replay, or_(counted.c.by_id > 1, counted.c.by_hash > 1))
    s.execute(update(Staged).where(Staged.id.in_(shared)).values(replay=True))
    if bank_is_empty(s, bank_id):
        return
    held = exists().where(
        EntryRow.bank_id == bank_id,
        EntryRow.signal_type == Staged.signal_type,
        EntryRow.value == Staged.value,
    )
    known = exists().where(
        EntrySourceRow.bank_id == bank_id,
        EntrySourceRow.source == source,
        EntrySourceRow.external_id == Staged.source_id,
    )
    s.execute(update(Staged).where(mine, ~Staged.replay, or_(held, known)).values(replay=True))


def _bulk(s: Session, exchange_id: int, bank_id: int, exchange: str, now: datetime) -> int:
    """Insert the staged rows not marked ``replay`` as new entries, in hash order, with their
    first records; how many."""
    bulk = (Staged.exchange_id == exchange_id, ~Staged.replay)
    count = s.scalar(select(func.count()).where(*bulk)) or 0
    if not count:
        return 0
    seqs = seq_range(s, count)
    order = (Staged.signal_type, Staged.value)
    rows = (
        select(
            literal(bank_id),
            Staged.signal_type,
            Staged.value,
            Staged.category,
            Staged.labels,
            literal(entry_kind(source_name(exchange))),
            literal(exchange),
            Staged.source_id,
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
            (func.row_number().over(order_by=order) + (seqs[0] - 1)).label("seq"),
        )
        .where(*bulk)
        .order_by(*order)
    )
    columns = [
        "bank_id",
        "signal_type",
        "value",
        "category",
        "labels",
        "source",
        "source_ref",
        "external_id",
        "created_at",
        "updated_at",
        "seq",
    ]
    s.execute(ENTRIES.insert().from_select(columns, rows))
    copy_first_records(s, source_name(exchange), seqs)
    return count


def _replayed(s: Session, exchange_id: int) -> Iterator[list[ExchangeRecord]]:
    """The staged records marked ``replay``, in arrival order, in chunks of up to ``CHUNK``
    records; a chunk ends before a record listing a source id the chunk withdrew (a batch
    applies its withdrawals last)."""
    last = 0
    while True:
        numbers = list(
            s.scalars(
                select(Staged.record)
                .where(Staged.exchange_id == exchange_id, Staged.replay, Staged.record > last)
                .order_by(Staged.record)
                .limit(CHUNK)
            )
        )
        if not numbers:
            return
        top = numbers[-1]
        query = (
            select(Staged)
            .where(
                Staged.exchange_id == exchange_id, Staged.replay, Staged.record > last, Staged.record <= top
            )
            .order_by(Staged.record, Staged.id)
        )
        chunk: list[ExchangeRecord] = []
        withdrawn: set[str] = set()
        for record in _records(s.scalars(query)):
            if not record.withdrawn and record.source_id in withdrawn:
                yield chunk
                chunk, withdrawn = [], set()
            if record.withdrawn:
                withdrawn.add(record.source_id)
            chunk.append(record)
        yield chunk
        last = top


def _records(rows: Any) -> Iterator[ExchangeRecord]:
    """Staged rows (ordered by record) as the records they came from."""
    current: list[Staged] = []
    for row in rows:
        if current and row.record != current[0].record:
            yield _record(current)
            current = []
        current.append(row)
    if current:
        yield _record(current)


def _record(rows: list[Staged]) -> ExchangeRecord:
    first = rows[0]
    if first.withdrawn:
        return ExchangeRecord(first.source_id, withdrawn=True)
    signals = tuple((str(r.signal_type), str(r.value)) for r in rows)
    return ExchangeRecord(first.source_id, signals, first.category, tuple(first.labels or ()))


def move_staged(
    s: Session, banks: BankService, bank_id: int, exchange: str, exchange_id: int, *, replace: bool
) -> ImportReport:
    """Move everything staged for ``exchange`` into bank ``bank_id`` (in ``s``, the caller's
    transaction, which should hold the exchange's row locked) and forget it."""
    source = source_name(exchange)
    _mark_replay(s, exchange_id, bank_id, source)
    report = ImportReport(added=_bulk(s, exchange_id, bank_id, exchange, utcnow()))
    if report.added:
        banks._audit_added(s, bank_id, source, exchange, report)
    for records in _replayed(s, exchange_id):
        report.merge(apply_records(s, banks, bank_id, exchange, records, replace_signals=replace))
    others = Staged.exchange_id != exchange_id
    if s.get_bind().dialect.name == "sqlite" and not s.scalar(select(exists().where(others))):
        # no other exchange's rows (and none can come: this transaction holds SQLite's write
        # lock): emptied whole, which SQLite does without visiting each row
        s.execute(delete(Staged))
    else:
        s.execute(delete(Staged).where(Staged.exchange_id == exchange_id))
    return report
