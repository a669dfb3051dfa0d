"""Measurement without surveillance: aggregate counters only.

What is counted, per UTC day: ``checks`` (per catalogue locale), ``triggers`` (per term list and
locale), ``clicks`` on help services through the redirect link (per service and locale),
``views`` of the interstitial page and widget, and tip-form outcomes. Never the checked text,
never a user, address or session. Counts are summed in memory and written every few seconds as
``count = count + n`` upserts, so many processes can share one store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ohsc.errors import InvalidInputError
from ohsc.prevention.models import PreventionCounterRow
from ohsc.store.db import Store

#: Counter names. Storage keys: never rename.
METRICS = (
    "checks",
    "triggers",
    "clicks",
    "views",
    "tips",
    "tips_discarded",
    "tips_rate_limited",
)

CounterKey = tuple[date, str, str, str, int]


def today() -> date:
    return datetime.now(UTC).date()


def upsert_counts(session: Session, counts: dict[CounterKey, int]) -> int:
    """Add ``counts`` to the stored counters in one statement per row (insert or add)."""
    if not counts:
        return 0
    table = PreventionCounterRow.__table__
    assert isinstance(table, Table)
    dialect = session.get_bind().dialect.name
    rows = [
        {"day": d, "metric": m, "list_name": ln, "locale": loc, "resource_id": rid, "count": n}
        for (d, m, ln, loc, rid), n in counts.items()
    ]
    keys = ["day", "metric", "list_name", "locale", "resource_id"]
    if dialect == "postgresql":
        pg = pg_insert(table)
        session.execute(
            pg.on_conflict_do_update(index_elements=keys, set_={"count": table.c.count + pg.excluded.count}),
            rows,
        )
    else:
        lite = sqlite_insert(table)
        session.execute(
            lite.on_conflict_do_update(
                index_elements=keys, set_={"count": table.c.count + lite.excluded.count}
            ),
            rows,
        )
    return len(rows)


class CounterBuffer:
    """Thread-safe in-memory sums, written to the store by :meth:`flush` (or when due)."""

    def __init__(
        self,
        store: Store | None,
        *,
        flush_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        day: Callable[[], date] = today,
    ) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._day = day
        self._lock = threading.Lock()
        self._pending: dict[CounterKey, int] = {}
        self._last_flush = clock()
        self._today: tuple[float, date] = (float("-inf"), date.min)

    def add(
        self, metric: str, *, list_name: str = "", locale: str = "", resource_id: int = 0, n: int = 1
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"unknown counter {metric!r}")
        now = self._clock()
        if now - self._today[0] >= 1.0:  # the day, looked up at most once a second
            self._today = (now, self._day())
        key = (self._today[1], metric, list_name, locale, resource_id)
        with self._lock:
            self._pending[key] = self._pending.get(key, 0) + n
        if self.store is not None and now - self._last_flush >= self.flush_seconds:
            self.flush()

    def pending(self) -> dict[CounterKey, int]:
        with self._lock:
            return dict(self._pending)

    def flush(self) -> int:
        """Write pending sums; on failure they stay pending for the next flush."""
        if self.store is None:
            return 0
        with self._lock:
            batch, self._pending = self._pending, {}
            self._last_flush = self._clock()
        if not batch:
            return 0
        try:
            with self.store.session() as s:
                return upsert_counts(s, batch)
        except Exception:
            with self._lock:
                for key, n in batch.items():
                    self._pending[key] = self._pending.get(key, 0) + n
            raise


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Counts per day for a chart: ``days`` and, per metric, one number per day (zero-filled)."""

    days: tuple[date, ...]
    series: dict[str, tuple[int, ...]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": [d.isoformat() for d in self.days],
            "series": {k: list(v) for k, v in self.series.items()},
        }


class PreventionStats:
    """Read the counters for the dashboard (a chart over time and breakdowns)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _range(since: date | None, until: date | None, days: int) -> tuple[date, date]:
        end = until or today()
        start = since or end - timedelta(days=days - 1)
        if start > end:
            raise InvalidInputError("the start date is after the end date")
        if (end - start).days > 3660:
            raise InvalidInputError("ask for at most ten years at a time")
        return start, end

    def daily(
        self,
        metrics: Iterable[str] = ("checks", "triggers", "clicks"),
        *,
        since: date | None = None,
        until: date | None = None,
        days: int = 30,
        list_name: str | None = None,
        locale: str | None = None,
    ) -> DailySeries:
        wanted = list(metrics)
        unknown = [m for m in wanted if m not in METRICS]
        if unknown:
            raise InvalidInputError(f"unknown counter(s) {', '.join(unknown)}; known: {', '.join(METRICS)}")
        start, end = self._range(since, until, days)
        t = PreventionCounterRow
        q = (
            select(t.day, t.metric, func.sum(t.count))
            .where(t.day >= start, t.day <= end, t.metric.in_(wanted))
            .group_by(t.day, t.metric)
        )
        if list_name is not None:
            q = q.where(t.list_name == list_name)
        if locale is not None:
            q = q.where(t.locale == locale)
        with self.store.session() as s:
            found = {(d, m): int(n or 0) for d, m, n in s.execute(q)}
        day_list = tuple(start + timedelta(days=i) for i in range((end - start).days + 1))
        return DailySeries(
            days=day_list, series={m: tuple(found.get((d, m), 0) for d in day_list) for m in wanted}
        )

    def breakdown(
        self, metric: str, by: str, *, since: date | None = None, until: date | None = None, days: int = 30
    ) -> list[tuple[str, int]]:
        """Totals of one counter by ``list``, ``locale`` or ``resource``, largest first."""
        columns = {
            "list": PreventionCounterRow.list_name,
            "locale": PreventionCounterRow.locale,
            "resource": PreventionCounterRow.resource_id,
        }
        if by not in columns:
            raise InvalidInputError("break down by list, locale or resource")
        if metric not in METRICS:
            raise InvalidInputError(f"unknown counter {metric!r}")
        start, end = self._range(since, until, days)
        col = columns[by]
        t = PreventionCounterRow
        q = (
            select(col, func.sum(t.count))
            .where(t.day >= start, t.day <= end, t.metric == metric)
            .group_by(col)
            .order_by(func.sum(t.count).desc())
        )
        with self.store.session() as s:
            return [(str(k), int(n or 0)) for k, n in s.execute(q)]
