"""Removal times: from the first notice to the first re-check that found the URL gone.

Per host, network or country (or over everything): how many takedowns were notified, how many
are removed, the median and 90th percentile removal time (of those removed; nearest-rank), the
share of notified takedowns removed within 24, 48 and 72 hours, and the share still up more than
42 days after the first notice (Project Arachnid's long-tail figure). And the URL list of live
confirmed URLs, for blocking (IWF-style).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import select

from ohsc import audit
from ohsc.errors import InvalidInputError
from ohsc.removal.models import TakedownRow
from ohsc.store.db import Store
from ohsc.store.types import utcnow

GROUPINGS = ("all", "host", "network", "country")
LONG_TAIL_DAYS = 42
CSV_COLUMNS = (
    "group",
    "notified",
    "removed",
    "open",
    "median_hours",
    "p90_hours",
    "within_24h",
    "within_48h",
    "within_72h",
    "up_after_42d",
)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of sorted values; None for none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class GroupStats:
    group: str
    notified: int
    removed: int
    open: int
    median_hours: float | None
    p90_hours: float | None
    within_24h: float | None
    within_48h: float | None
    within_72h: float | None
    up_after_42d: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _share(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def _group(key: str, rows: list[TakedownRow], now: datetime) -> GroupStats:
    times = sorted(r.removal_seconds / 3600 for r in rows if r.removal_seconds is not None)
    long_tail = timedelta(days=LONG_TAIL_DAYS)
    up_long = 0
    for r in rows:
        assert r.first_notice_at is not None
        if (r.status == "open" and now - r.first_notice_at > long_tail) or (
            r.removal_seconds is not None and r.removal_seconds > long_tail.total_seconds()
        ):
            up_long += 1
    total = len(rows)
    median, p90 = percentile(times, 0.5), percentile(times, 0.9)
    return GroupStats(
        group=key,
        notified=total,
        removed=sum(r.status == "removed" for r in rows),
        open=sum(r.status == "open" for r in rows),
        median_hours=None if median is None else round(median, 2),
        p90_hours=None if p90 is None else round(p90, 2),
        within_24h=_share(sum(t <= 24 for t in times), total),
        within_48h=_share(sum(t <= 48 for t in times), total),
        within_72h=_share(sum(t <= 72 for t in times), total),
        up_after_42d=_share(up_long, total),
    )


def removal_stats(store: Store, *, by: str = "all", now: datetime | None = None) -> list[GroupStats]:
    """Removal-time figures per group, largest group first."""
    if by not in GROUPINGS:
        raise InvalidInputError(f"group by one of {', '.join(GROUPINGS)}")
    now = now or utcnow()
    groups: dict[str, list[TakedownRow]] = defaultdict(list)
    with store.session() as s:
        rows = s.scalars(select(TakedownRow).where(TakedownRow.first_notice_at.is_not(None)))
        for r in rows:
            key = "all" if by == "all" else (getattr(r, by) or "unknown")
            groups[key].append(r)
        out = [_group(k, v, now) for k, v in groups.items()]
    return sorted(out, key=lambda g: (-g.notified, g.group))


def write_csv(stats: Iterable[GroupStats], out: TextIO) -> None:
    from ohsc.prevention.tip_checks import csv_safe

    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for g in stats:
        d = g.to_dict()
        writer.writerow([csv_safe("" if d[c] is None else d[c]) for c in CSV_COLUMNS])


def live_urls(store: Store, *, actor: str, pages: bool = True) -> list[str]:
    """Confirmed URLs still up (open takedowns): the media URLs and, with ``pages``, their pages.

    The list names abuse material: every export is an audit event (``takedown.urllist``)."""
    with store.session() as s:
        rows = s.execute(
            select(TakedownRow.url, TakedownRow.page_url)
            .where(TakedownRow.status == "open")
            .order_by(TakedownRow.id)
        )
        seen: dict[str, None] = {}
        for url, page in rows:
            seen.setdefault(url, None)
            if pages and page:
                seen.setdefault(page, None)
        audit.record(
            s,
            actor=actor,
            action="takedown.urllist",
            object_type="takedown",
            details={"urls": len(seen), "pages": pages},
        )
        return list(seen)
