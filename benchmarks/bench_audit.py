"""Audit events written in groups: ``audit.record`` once per event against ``audit.record_many``
for the same events, in the same process, alternating, into fresh stores (SQLite by default;
``--database-url`` for PostgreSQL). CPU seconds of this process and wall time per event.

    .venv/bin/python benchmarks/bench_audit.py --groups 200 --size 5
    .venv/bin/python benchmarks/bench_audit.py --groups 200 --size 5 \
        --database-url postgresql://postgres@127.0.0.1:5432/test

A group is one transaction, as where the crawler records a group of matches (an
``evidence.preserve`` and a ``takedown.create`` event per match). Both ways leave a chain that
verifies; the script checks it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from ohsc import audit
from ohsc.settings import load_settings
from ohsc.store.db import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

Events = list[audit.NewEvent]


def one_by_one(store: Store, group: Events) -> None:
    with store.session() as s:
        for e in group:
            audit.record(
                s,
                actor=e.actor,
                action=e.action,
                object_type=e.object_type,
                object_id=e.object_id,
                details=e.details,
            )


def together(store: Store, group: Events) -> None:
    with store.session() as s:
        audit.record_many(s, group)


def run(store: Store, write: Callable[[Store, Events], None], groups: int, size: int) -> tuple[float, float]:
    batches = [
        [
            audit.NewEvent(
                "crawler", "takedown.create", "takedown", g * size + i, {"host": "h", "entry_id": i}
            )
            for i in range(size)
        ]
        for g in range(groups)
    ]
    cpu, wall = time.process_time(), time.perf_counter()
    for group in batches:
        write(store, group)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    with store.session() as s:
        result = audit.verify(s)
    if not result.ok or result.events != groups * size:
        raise SystemExit(f"the chain does not verify: {result.problems}")
    return cpu, wall


def fresh(home: Path, url: str | None) -> Store:
    settings = load_settings(home=home, database_url=url) if url else load_settings(home=home)
    store = Store.from_settings(settings)
    store.migrate()
    if url:
        with store.session() as s:
            s.execute(text("TRUNCATE audit_events"))
            s.execute(text("UPDATE ohsc_counters SET value = 0 WHERE name = 'audit_seq'"))
    return store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--size", type=int, default=5, help="events per transaction")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    print(machine(), "| PostgreSQL" if args.database_url else "| SQLite")
    n = args.groups * args.size
    for r in range(args.rounds):
        figures = {}
        for name, write in (("record", one_by_one), ("record_many", together)):
            with tempfile.TemporaryDirectory() as tmp:
                store = fresh(Path(tmp), args.database_url)
                try:
                    figures[name] = run(store, write, args.groups, args.size)
                finally:
                    store.dispose()
        (c1, w1), (c2, w2) = figures["record"], figures["record_many"]
        print(
            f"round {r + 1}: {n} events in groups of {args.size}: one by one {c1 / n * 1e3:.3f} ms CPU "
            f"({w1 / n * 1e3:.3f} ms wall) per event; together {c2 / n * 1e3:.3f} ms CPU "
            f"({w2 / n * 1e3:.3f} ms wall); CPU {c1 / c2:.2f}x, wall {w1 / w2:.2f}x"
        )


if __name__ == "__main__":
    main()
