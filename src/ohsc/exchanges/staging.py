"""A fresh bank's first sync: records staged in arrival order, moved into the bank in index order.

Written page by page, a long list of random hashes lands all over the bank's value indexes, and
each transaction rewrites most of their pages (about twice the work of the same rows written in
hash order, see docs/benchmarks.md, "Exchange, round 3"). So while an exchange's bank is empty,
a sync stages each page's checked records in ``exchange_staged`` (a table with no index on the
hashes; the page's checkpoint commits with them, as before), and at the end of the sync moves
them into the bank:

* :func:`prepare_move` marks the records that need the record-by-record path ``replay``:
  withdrawals, records with several signals or a payload signal, a source id or a hash staged
  more than once, and (should the bank have gained entries meanwhile) a hash or source id the
  bank already holds;
* :func:`move_slice` inserts the rest (each a new hash listed by one record, the common case),
  the smallest hashes first, by one ``INSERT ... SELECT`` sorted by hash, then their first
  source records by another: a slice per transaction;
* :func:`finish_move` applies the replayed records through
  :func:`ohsc.exchanges.apply.apply_records` in arrival order and unstages everything.

The two sets share no hash and no source id, so the result is what applying the pages one by one
gives (entry ids and sequence numbers follow the hashes instead of the arrival order). A sync
killed while staging resumes from its checkpoint and stages on (staged rows keep a bank in
staging mode); a move killed half way keeps the slices it committed, whose hashes the next
move finds in the bank and replays (changing nothing), and moves the rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, delete, exists, func, literal, or_, select, tuple_, update
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.banks.model import ImportReport
from ohsc.banks.records import CHUNK, record_key, seq_range
from ohsc.banks.service import BankService
from ohsc.banks.upsert import ENTRIES, copy_first_records, entry_kind, insert_plain
from ohsc.exchanges.apply import apply_records, source_name
from ohsc.exchanges.model import ExchangeRecord
from ohsc.exchanges.tables import ExchangeRow
from ohsc.exchanges.tables import ExchangeStagedRow as Staged
from ohsc.signals import SIGNAL_TYPES
from ohsc.store.db import Store
from ohsc.store.models import EntryRow, EntrySourceRow
from ohsc.store.types import UTCDateTime, utcnow

STAGED: Table = Staged.__table__  # type: ignore[assignment]
#: New entries per transaction of a move (a few seconds of SQLite's write lock).
MOVE_SLICE = 200_000


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


def _mark_replay(s: Session, exchange_id: int, bank_id: int, source: str, upto: int) -> None:
    """Mark the staged rows (of records up to ``upto``) the bulk insert must leave to the
    record-by-record path."""
    mine = and_(Staged.exchange_id == exchange_id, Staged.record <= upto)
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


Hash = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Slice:
    """Staged new hashes above ``after`` (None: from the first) up to ``last`` (None: to the
    end): ``count`` of them."""

    after: Hash | None
    last: Hash | None
    count: int


@dataclass(frozen=True, slots=True)
class MovePlan:
    """What a move covers: records up to ``upto``, their new hashes in ``slices``."""

    upto: int
    slices: list[Slice]


def _slices(s: Session, exchange_id: int, upto: int, size: int) -> list[Slice]:
    """The staged new hashes cut into slices of ``size`` in hash order (one sort of them all)."""
    order = (Staged.signal_type, Staged.value)
    bulk = (Staged.exchange_id == exchange_id, Staged.record <= upto, ~Staged.replay)
    total = s.scalar(select(func.count()).where(*bulk)) or 0
    numbered = select(*order, func.row_number().over(order_by=order).label("n")).where(*bulk).subquery()
    cuts = s.execute(
        select(numbered.c.signal_type, numbered.c.value)
        .where(numbered.c.n % size == 0, numbered.c.n < total)
        .order_by(numbered.c.n)
    )
    bounds: list[Hash | None] = [None, *((str(st), str(v)) for st, v in cuts), None]
    counts = [size] * (len(bounds) - 2) + [total - size * (len(bounds) - 2)]
    return [Slice(a, b, n) for a, b, n in zip(bounds[:-1], bounds[1:], counts, strict=True) if n]


def _bulk(s: Session, exchange_id: int, bank_id: int, exchange: str, upto: int, part: Slice) -> None:
    """Insert one slice of the staged rows not marked ``replay`` (records up to ``upto``) as
    new entries, in hash order, with their first records. Those rows' hashes are distinct (see
    :func:`_mark_replay`). They stay staged until :func:`finish_move`: a move that dies after
    this slice commits finds its hashes in the bank when it runs again, and replays them (an
    existing record listed again changes nothing)."""
    order = (Staged.signal_type, Staged.value)
    bulk = [Staged.exchange_id == exchange_id, Staged.record <= upto, ~Staged.replay]
    if part.after is not None:
        bulk.append(tuple_(*order) > tuple_(literal(part.after[0]), literal(part.after[1])))
    if part.last is not None:
        bulk.append(tuple_(*order) <= tuple_(literal(part.last[0]), literal(part.last[1])))
    seqs = seq_range(s, part.count)
    now = utcnow()
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


def _replayed(s: Session, exchange_id: int, upto: int) -> Iterator[list[ExchangeRecord]]:
    """The staged records marked ``replay``, in arrival order, in chunks of up to ``CHUNK``
    records; a chunk ends before a record listing a source id the chunk withdrew (a batch
    applies its withdrawals last)."""
    last = 0
    while True:
        numbers = list(
            s.scalars(
                select(Staged.record)
                .where(
                    Staged.exchange_id == exchange_id,
                    Staged.replay,
                    Staged.record > last,
                    Staged.record <= upto,
                )
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


def prepare_move(s: Session, exchange_id: int, bank_id: int, exchange: str, size: int) -> MovePlan:
    """Mark what the move replays (see :func:`_mark_replay`) and cut the rest in slices of
    ``size`` new hashes. Records staged later (another process syncing meanwhile) wait for the
    next move."""
    upto = s.scalar(select(func.max(Staged.record)).where(Staged.exchange_id == exchange_id)) or 0
    if not upto:
        return MovePlan(0, [])
    _mark_replay(s, exchange_id, bank_id, source_name(exchange), upto)
    return MovePlan(upto, _slices(s, exchange_id, upto, size))


def move_slice(
    s: Session, banks: BankService, exchange_id: int, bank_id: int, exchange: str, upto: int, part: Slice
) -> None:
    """Move one slice of new entries into the bank, in ``s`` (each slice commits on its own: a
    long move never holds the write lock long)."""
    _bulk(s, exchange_id, bank_id, exchange, upto, part)
    banks._audit_added(s, bank_id, source_name(exchange), exchange, ImportReport(added=part.count))


def finish_move(
    s: Session, banks: BankService, exchange_id: int, bank_id: int, exchange: str, upto: int, *, replace: bool
) -> ImportReport:
    """Apply the replayed records (up to ``upto``) in arrival order and unstage them, in ``s``."""
    report = ImportReport()
    for records in _replayed(s, exchange_id, upto):
        report.merge(apply_records(s, banks, bank_id, exchange, records, replace_signals=replace))
    mine = Staged.exchange_id == exchange_id
    if s.get_bind().dialect.name == "sqlite" and not s.scalar(
        select(exists().where(or_(Staged.exchange_id != exchange_id, Staged.record > upto)))
    ):
        # nothing else staged (and nothing can come: this transaction holds SQLite's write
        # lock): emptied whole, which SQLite does without visiting each row
        s.execute(delete(Staged))
    else:
        s.execute(delete(Staged).where(mine, Staged.record <= upto))
    return report


def move_staged(
    store: Store, banks: BankService, actor: str, exchange_id: int, bank_id: int, name: str, *, replace: bool
) -> ImportReport:
    """Move what exchange ``name`` staged into its bank: slices of ``MOVE_SLICE`` new entries,
    each a transaction, then the replayed records and an ``exchange.staged.move`` audit event
    in a last one. Each transaction holds the exchange's row (one move at a time)."""
    changes = ImportReport()
    with store.session() as s:
        if not has_staged(s, exchange_id):
            return changes
    store.analyze("exchange_staged")
    where = (exchange_id, bank_id, name)
    with store.session() as s:
        if not _hold(s, exchange_id, bank_id):
            return changes
        plan = prepare_move(s, *where, MOVE_SLICE)
    for part in plan.slices:
        with store.session() as s:
            if not _hold(s, exchange_id, bank_id):
                return changes
            move_slice(s, banks, *where, plan.upto, part)
            changes.added += part.count
    with store.session() as s:
        if not _hold(s, exchange_id, bank_id):
            return changes
        changes.merge(finish_move(s, banks, *where, plan.upto, replace=replace))
        audit.record(
            s,
            actor=actor,
            action="exchange.staged.move",
            object_type="exchange",
            object_id=exchange_id,
            details={"name": name, **{k: v for k, v in changes.counts().items() if v}},
        )
    store.analyze("bank_entries", "entry_sources")
    return changes


def _hold(s: Session, exchange_id: int, bank_id: int) -> bool:
    """Lock the exchange's row for a step of a move; False if it went (with what it staged)."""
    row = s.get(ExchangeRow, exchange_id, with_for_update=True)
    return row is not None and row.bank_id == bank_id
