"""What a matched file costs the matcher: reading the matched entries, as now (plain rows on a
kept reading connection, ``Store.reading``) against the read as it was (a new store session per
match, with SQLite a new connection with its PRAGMAs, ORM rows, a second query for the source
records), in the same process, passes alternating.

A bank of invented hashes: ``--entries`` items, each listed by MD5 and PDQ, each hash listed by
two sources (as an exchange and an import do). Each pass matches ``--queries`` items the bank
lists (two entries each) and as many it does not, mixed; the figures are the best pass of each way
(wall and CPU time per matched file) and their ratio.

    .venv/bin/python benchmarks/bench_match_reads.py [--entries 5000] [--queries 400] [--rounds 5]
    .venv/bin/python benchmarks/bench_match_reads.py --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlalchemy import select

from common import machine
from ohsc.banks import BankEntry, BankService
from ohsc.banks.model import RecordInput
from ohsc.banks.reading import to_entry
from ohsc.banks.records import records_of
from ohsc.matching import Matcher
from ohsc.settings import load_settings
from ohsc.store.db import Store
from ohsc.store.models import BankRow, EntryRow


def orm_entries_by_id(store: Store) -> Callable[[Iterable[int]], dict[int, BankEntry]]:
    """``BankService.entries_by_id`` as it was before ``Store.reading`` (the reference)."""

    def read(ids: Iterable[int]) -> dict[int, BankEntry]:
        wanted = list(set(ids))
        out: dict[int, BankEntry] = {}
        with store.session() as s:
            for start in range(0, len(wanted), 1000):
                chunk = wanted[start : start + 1000]
                found = list(
                    s.execute(select(EntryRow, BankRow.name).join(BankRow).where(EntryRow.id.in_(chunk)))
                )
                recs = records_of(s, [row.id for row, _ in found])
                for row, name in found:
                    out[row.id] = to_entry(row, name, recs.get(row.id, ()))
        return out

    return read


def build(store: Store, banks: BankService, entries: int, rng: random.Random) -> list[tuple[str, str]]:
    banks.create_bank("known")
    items = [(f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(256):064x}") for _ in range(entries)]
    for source in ("exchange:a", "import"):
        records = [RecordInput(f"{source}-{i}", (("md5", m), ("pdq", p))) for i, (m, p) in enumerate(items)]
        banks.apply_records("known", records, source=source)
    return items


def one_pass(matcher: Matcher, queries: list[tuple[bool, dict[str, str]]]) -> tuple[float, float, float]:
    """Seconds per matched file (wall, CPU) and per unmatched file (wall) over one pass."""
    wall = {True: 0.0, False: 0.0}
    cpu = {True: 0.0, False: 0.0}
    count = {True: 0, False: 0}
    for listed, signals in queries:
        t0, c0 = time.perf_counter(), time.process_time()
        outcome = matcher.match(signals)
        wall[listed] += time.perf_counter() - t0
        cpu[listed] += time.process_time() - c0
        count[listed] += 1
        assert outcome.matched == listed
        assert len(outcome.matches) == (2 if listed else 0)
    return wall[True] / count[True], cpu[True] / count[True], wall[False] / count[False]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--database-url", help="an empty PostgreSQL database (default: a new SQLite file)")
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=Path(tmp) / "home")
        store = Store(args.database_url) if args.database_url else Store.from_settings(settings)
        banks = BankService(store, settings, actor="bench")
        items = build(store, banks, args.entries, rng)
        matcher = Matcher.open(store, settings)
        listed = [(True, {"md5": m, "pdq": p}) for m, p in rng.sample(items, args.queries)]
        unlisted = [
            (False, {"md5": f"{rng.getrandbits(128):032x}", "pdq": f"{rng.getrandbits(256):064x}"})
            for _ in range(args.queries)
        ]
        queries = listed + unlisted
        rng.shuffle(queries)
        reference = orm_entries_by_id(store)
        best: dict[str, tuple[float, float, float]] = {}
        print(f"{machine()}; {store.dialect}; {args.entries} items (2 entries, 2 records each)")
        for r in range(args.rounds):
            for way in ("before", "now") if r % 2 == 0 else ("now", "before"):
                if way == "before":
                    setattr(matcher.banks, "entries_by_id", reference)  # noqa: B010 - swap the reference in
                else:
                    vars(matcher.banks).pop("entries_by_id", None)
                one_pass(matcher, queries[:20])  # warm: connections, statement caches
                figures = one_pass(matcher, queries)
                print(
                    f"round {r + 1} {way:>6}: matched file {figures[0] * 1e3:.3f} ms "
                    f"({figures[1] * 1e3:.3f} ms CPU), unmatched {figures[2] * 1e3:.3f} ms"
                )
                if way not in best or figures[0] < best[way][0]:
                    best[way] = figures
        before, now = best["before"], best["now"]
        print(
            f"best: matched file {before[0] * 1e3:.3f} -> {now[0] * 1e3:.3f} ms "
            f"({before[0] / now[0]:.1f}x faster; CPU {before[1] * 1e3:.3f} -> {now[1] * 1e3:.3f} ms, "
            f"{before[1] / now[1]:.1f}x); unmatched {before[2] * 1e3:.3f} / {now[2] * 1e3:.3f} ms"
        )
        store.dispose()


if __name__ == "__main__":
    main()
