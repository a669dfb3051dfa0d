"""What SQLite alone costs to hold a list of random hashes: the rows of ``bench_exchange``'s
reference (entries, then their source records by INSERT ... SELECT) written by ``executemany`` in
transactions of 20,000 with no Python in between, into a fresh store with OHSC's schema, under a
given page cache size. CPU seconds of this process (SQLite runs in it).

    .venv/bin/python benchmarks/bench_sqlite_inserts.py --rows 300000 --cache-kib 2000
    .venv/bin/python benchmarks/bench_sqlite_inserts.py --rows 300000 --cache-kib 65536
    .venv/bin/python benchmarks/bench_sqlite_inserts.py --rows 1000000 --cache-kib 65536 --staged

``--staged``: the rows go first into a table without indexes (as a fresh bank's first exchange
sync stages them), then into the bank by one ``INSERT ... SELECT ... ORDER BY value`` and the
source records by one more, in one transaction (``ohsc.exchanges.staging``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from ohsc.settings import load_settings
from ohsc.store.db import Store

BULK = 20_000
_ENTRY = (
    "INSERT INTO bank_entries (bank_id, signal_type, value, category, labels, source, external_id, "
    "created_at, updated_at, seq) VALUES (1, 'md5', ?, 'placeholder', '[]', 'exchange', ?, "
    "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', ?)"
)
_SOURCES = (
    "INSERT INTO entry_sources (bank_id, entry_id, source, external_id, category, labels, first_seen, "
    "last_seen) SELECT bank_id, id, 'exchange:a', external_id, category, labels, created_at, created_at "
    "FROM bank_entries WHERE seq BETWEEN ? AND ?"
)


def _staged(con: sqlite3.Connection, values: list[str]) -> None:
    con.execute("CREATE TABLE stage (n INTEGER PRIMARY KEY, source_id TEXT, value TEXT)")
    for start in range(0, len(values), BULK):
        stop = min(len(values), start + BULK)
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO stage (source_id, value) VALUES (?, ?)",
            [(str(i + 1), values[i]) for i in range(start, stop)],
        )
        con.execute("COMMIT")
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO bank_entries (bank_id, signal_type, value, category, labels, source, external_id, created_at, "
        "updated_at, seq) SELECT 1, 'md5', value, 'placeholder', '[]', 'exchange', source_id, "
        "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', row_number() OVER (ORDER BY value) "
        "FROM stage ORDER BY value"
    )
    con.execute(_SOURCES, (1, len(values)))
    con.execute("COMMIT")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--cache-kib", type=int, default=2000, help="PRAGMA cache_size (2000: SQLite's default)")
    ap.add_argument("--staged", action="store_true", help="stage the rows, then move them in hash order")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-sqlite-"))
    settings = load_settings(home=home, content_key=os.urandom(32).hex())
    store = Store.from_settings(settings)  # the schema, by the migrations
    path = store.url.split("///", 1)[1]
    store.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(f"PRAGMA cache_size=-{args.cache_kib}")
    con.execute(
        "INSERT INTO banks (name, description, is_allowlist, enabled, robust, created_at, updated_at) "
        "VALUES ('b', '', 0, 1, 0, '2026-01-01', '2026-01-01')"
    )
    values = [
        hashlib.md5(f"bench-exchange-{i}".encode(), usedforsecurity=False).hexdigest()
        for i in range(args.rows)
    ]
    c0, t0 = time.process_time(), time.perf_counter()
    if args.staged:
        _staged(con, values)
    for start in range(0, 0 if args.staged else args.rows, BULK):
        stop = min(args.rows, start + BULK)
        con.execute("BEGIN")
        con.executemany(_ENTRY, [(values[i], str(i + 1), i + 1) for i in range(start, stop)])
        con.execute(_SOURCES, (start + 1, stop))
        con.execute("COMMIT")
    print(
        f"{args.rows} rows{' staged' if args.staged else ''}, cache {args.cache_kib} KiB: CPU {time.process_time() - c0:.1f} s, "
        f"wall {time.perf_counter() - t0:.1f} s, load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
