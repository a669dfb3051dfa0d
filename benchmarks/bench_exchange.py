"""Node to node on loopback: how fast a published bank reaches a fresh subscriber, what a small
change costs afterwards, and how soon a withdrawal stops matching on a subscriber that polls.

Publisher A is a real ``ohsc serve`` process with its own home; subscriber B syncs in this process
(``ExchangeService.sync``, what ``ohsc exchange sync`` and the server's scheduled job run). The
reference in the same run is the floor of B's work: the same rows (entries and their source
records) written into a fresh store of this process by plain executemany inserts in transactions
of 20,000, with no HTTP, no checking and no lookups. The feed's cost over it is the price of
paging, signing, checking, looking up existing hashes and auditing. ``--import-reference`` adds
the same list imported from a CSV file (``ohsc bank import``'s path) as a second reference.
A fresh bank's first sync is staged and moved into the bank at the end (``ohsc.exchanges.staging``);
``--paged`` applies it page by page as before, for a comparison.

    .venv/bin/python benchmarks/bench_exchange.py --entries 1000000
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "service"))
from svc_servers import ohsc_server

import ohsc.exchanges.service as exchange_service
from common import machine, rss_mb
from ohsc.accounts.service import AccountService
from ohsc.banks.model import EntryInput
from ohsc.banks.records import seq_range
from ohsc.banks.service import BankService
from ohsc.banks.upsert import ENTRIES, SOURCES, insert_plain
from ohsc.exchanges.feeds import FeedService
from ohsc.exchanges.service import ExchangeService
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store
from ohsc.store.models import BankRow, EntryRow
from ohsc.store.types import utcnow

#: rows per transaction of the plain bulk insert (what a sync commits at most at once)
BULK = 20_000


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "OHSC_HOME": str(home),
        "OHSC_CONTENT_KEY": base64.b64encode(os.urandom(32)).decode(),
        "OHSC_APIKEY_CACHE_SECONDS": "0",
        "OHSC_EGRESS_ALLOW": "127.0.0.1/32",
        **extra,
    }


def _settings(env: dict[str, str]) -> Settings:
    return load_settings(
        home=Path(env["OHSC_HOME"]),
        content_key=env["OHSC_CONTENT_KEY"],
        egress_allow=env["OHSC_EGRESS_ALLOW"],
        database_url=env.get("OHSC_DATABASE_URL"),
    )


def _fresh_pg_database(server: str, name: str) -> str:
    """The URL of an empty database ``name`` on the PostgreSQL server at ``server`` (dropped and
    created again)."""
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server.rstrip('/')}/{name}"


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _md5(i: int) -> str:
    """Distinct hashes spread like real ones (a list of counting numbers would fill the bank's
    indexes in order, which real lists never do)."""
    return hashlib.md5(f"bench-exchange-{i}".encode(), usedforsecurity=False).hexdigest()


def bulk_insert(store: Store, bank: str, n: int, source: str = "import") -> None:
    """Entries ``_md5(0..n-1)`` with one source record each (external id ``r<i>``), written by plain
    executemany inserts in transactions of ``BULK`` rows: the least a store does to hold them."""
    with store.session() as s:
        bank_id = s.scalars(select(BankRow.id).where(BankRow.name == bank)).one()
    kind = source.partition(":")[0]
    for start in range(0, n, BULK):
        count = min(BULK, n - start)
        now = utcnow()
        with store.held_open(), store.session() as s:
            seqs = seq_range(s, count)
            rows = [
                {
                    "bank_id": bank_id,
                    "signal_type": "md5",
                    "value": _md5(start + i),
                    "category": "placeholder",
                    "labels": [],
                    "source": kind,
                    "external_id": f"r{start + i}",
                    "created_at": now,
                    "updated_at": now,
                    "seq": seq,
                }
                for i, seq in zip(range(count), seqs, strict=True)
            ]
            insert_plain(s, ENTRIES, rows)
            fresh = EntryRow.seq.between(seqs[0], seqs[-1])
            ids = {
                seq: entry_id for seq, entry_id in s.execute(select(EntryRow.seq, EntryRow.id).where(fresh))
            }
            insert_plain(
                s,
                SOURCES,
                [
                    {
                        "bank_id": bank_id,
                        "entry_id": ids[row["seq"]],
                        "source": source,
                        "external_id": row["external_id"],
                        "category": "placeholder",
                        "labels": [],
                        "first_seen": now,
                        "last_seen": now,
                    }
                    for row in rows
                ],
            )


def _csv(path: Path, n: int) -> None:
    with path.open("w") as fh:
        fh.write("signal_type,value,category,external_id\n")
        for i in range(n):
            fh.write(f"md5,{_md5(i)},placeholder,r{i}\n")


class PeakRss:
    """The peak resident memory of this process while the block runs (sampled every 50 ms)."""

    def __enter__(self) -> PeakRss:
        self.peak = self.start = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def references(
    ref_env: dict[str, str], args: argparse.Namespace, tmp: Path
) -> tuple[float, float, float | None]:
    """The plain bulk insert of the same rows into a fresh store (wall and CPU seconds), and the
    CSV import's wall seconds with ``--import-reference``."""
    ref_settings = _settings(ref_env)
    ref_store = Store.from_settings(ref_settings)
    BankService(ref_store, ref_settings).create_bank("reference")
    with PeakRss() as mem_ref:
        t0, c0 = time.perf_counter(), time.process_time()
        bulk_insert(ref_store, "reference", args.entries, source="exchange:a")
        reference, ref_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"reference: plain bulk insert of the same rows: {reference:.1f} s, CPU {ref_cpu:.1f} s "
        f"({args.entries / reference:,.0f} entries/s; peak RSS +{mem_ref.peak - mem_ref.start:.0f} MB)"
    )
    imported = None
    if args.import_reference:
        _csv(tmp / "list.csv", args.entries)
        BankService(ref_store, ref_settings).create_bank("imported")
        t0 = time.perf_counter()
        BankService(ref_store, ref_settings).import_file("imported", tmp / "list.csv", "csv")
        imported = time.perf_counter() - t0
        print(
            f"reference: CSV import (ohsc bank import): {imported:.1f} s ({args.entries / imported:,.0f} entries/s)"
        )
    ref_store.dispose()

    return reference, ref_cpu, imported


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--poll", type=int, default=5, help="the subscriber's sync interval (s)")
    ap.add_argument("--import-reference", action="store_true", help="also time a CSV import on B")
    ap.add_argument("--no-latency", action="store_true", help="skip the withdrawal latency part")
    ap.add_argument(
        "--setup-reference",
        action="store_true",
        help="the publisher's setup (the same rows written the same way into A's fresh SQLite store) is "
        "the reference: a 1M run on a loaded machine writes a million rows once less",
    )
    ap.add_argument(
        "--paged",
        action="store_true",
        help="apply the fresh sync page by page as before round 3 (no staging of the first sync)",
    )
    ap.add_argument(
        "--pg",
        metavar="SERVER_URL",
        help="the subscriber and the reference on PostgreSQL (e.g. postgresql://postgres@127.0.0.1:5432): "
        "databases bench_exchange_b and bench_exchange_ref are created there afresh",
    )
    args = ap.parse_args()
    if args.paged:
        exchange_service.STAGE_RECORDS = sys.maxsize
    tmp = Path(tempfile.mkdtemp(prefix="bench-exchange-"))
    b_db: dict[str, str] = {}
    ref_db: dict[str, str] = {}
    if args.pg:
        b_db = {"OHSC_DATABASE_URL": _fresh_pg_database(args.pg, "bench_exchange_b")}
        ref_db = {"OHSC_DATABASE_URL": _fresh_pg_database(args.pg, "bench_exchange_ref")}
    a_env, b_env, ref_env = _env(tmp / "a"), _env(tmp / "b", **b_db), _env(tmp / "ref", **ref_db)
    a_settings, b_settings = _settings(a_env), _settings(b_env)
    load = os.getloadavg()[0]
    stores = "subscriber and reference on PostgreSQL" if args.pg else "SQLite stores"
    how = "page by page (--paged)" if args.paged else "a fresh bank's first sync staged"
    print(
        f"machine: {machine()}; load average {load:.1f} at the start; {args.entries} entries; {stores}; {how}"
    )

    a_store = Store.from_settings(a_settings)
    a_banks = BankService(a_store, a_settings)
    a_banks.create_bank("shared")
    with PeakRss() as mem_ref:
        t0, c0 = time.perf_counter(), time.process_time()
        bulk_insert(a_store, "shared", args.entries)
        setup, setup_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"publisher: {args.entries} entries written in {setup:.1f} s, CPU {setup_cpu:.1f} s (setup; "
        f"peak RSS +{mem_ref.peak - mem_ref.start:.0f} MB)"
    )
    partner = AccountService(a_store, a_settings).create_api_key("node-b", ["feed"]).secret
    feeds = FeedService(a_store, a_settings)
    feeds.publish("shared", "node-b")
    public_key = feeds.public_key()

    if args.setup_reference and not args.pg:
        reference, ref_cpu = setup, setup_cpu
        print("reference: the publisher's setup above (plain bulk insert of the same rows)")
        imported = None
    else:
        reference, ref_cpu, imported = references(ref_env, args, tmp)

    b_store = Store.from_settings(b_settings)
    BankService(b_store, b_settings).create_bank("from-a")
    exchanges = ExchangeService(b_store, b_settings)
    with ohsc_server(a_env, tmp / "a.log", timeout=600) as a:  # a 1M bank loads slowly on a busy machine
        exchanges.add(
            "a",
            "ohsc-feed",
            "from-a",
            {"url": a.url, "bank": "shared", "public_key": public_key},
            {"api_key": partner},
            interval_seconds=args.poll,
        )
        with PeakRss() as mem:
            t0, c0, a0 = time.perf_counter(), time.process_time(), cpu_of(a.process.pid)
            report = exchanges.sync("a")
            full, b_cpu, a_cpu = (
                time.perf_counter() - t0,
                time.process_time() - c0,
                cpu_of(a.process.pid) - a0,
            )
        assert report.changes.added == args.entries, report.to_dict()
        vs_import = f", {full / imported:.2f}x the CSV import" if imported else ""
        print(
            f"feed: fresh subscriber synced {args.entries} entries in {full:.1f} s "
            f"({args.entries / full:,.0f} entries/s, {report.pages} pages), {full / reference:.2f}x the plain "
            f"bulk insert{vs_import}; peak RSS +{mem.peak - mem.start:.0f} MB; "
            f"load average {os.getloadavg()[0]:.1f} at the end"
        )
        print(
            f"feed CPU: subscriber {b_cpu:.1f} s ({b_cpu / ref_cpu:.2f}x the bulk insert's CPU), "
            f"publisher {a_cpu:.1f} s, together {a_cpu + b_cpu:.1f} s"
        )

        half = args.changes // 2
        retract = [EntryInput("", "", external_id=f"r{i}", retract=True) for i in range(half)]
        a_banks.add_entries("shared", retract, source="import")
        a_banks.add_entries(
            "shared", [EntryInput("md5", _md5(args.entries + i)) for i in range(args.changes - half)]
        )
        t0, c0, a0 = time.perf_counter(), time.process_time(), cpu_of(a.process.pid)
        report = exchanges.sync("a")
        small, b_cpu, a_cpu = time.perf_counter() - t0, time.process_time() - c0, cpu_of(a.process.pid) - a0
        print(
            f"feed: {args.changes} changes ({half} withdrawals, {args.changes - half} additions) synced in "
            f"{small:.3f} s (CPU: subscriber {b_cpu:.3f} s, publisher {a_cpu:.3f} s) ({report.pages} page(s); retracted {report.changes.retracted}, added {report.changes.added})"
        )
        if not args.no_latency:
            latency(a_env, b_env, a_banks, args)
    print(f"(publisher log: {tmp / 'a.log'})")


def latency(
    a_env: dict[str, str], b_env: dict[str, str], a_banks: BankService, args: argparse.Namespace
) -> None:
    """B serves with the exchange on a ``--poll`` interval; A withdraws a hash; how long until B
    no longer matches it."""
    settings = _settings(b_env)
    key = AccountService(Store.from_settings(settings), settings).create_api_key("b", ["match"]).secret
    headers = {"Authorization": f"Bearer {key}"}
    samples = []

    def in_from_a(target: str) -> bool:
        r = httpx.post(f"{b.url}/v1/match", json={"signals": {"md5": target}}, headers=headers)
        return any(m["bank"] == "from-a" for m in r.json()["matches"])  # B's reference bank lists it too

    b_log = Path(b_env["OHSC_HOME"]) / "b.log"
    with ohsc_server({**b_env, "OHSC_REFRESH_SECONDS": "0.5"}, b_log, timeout=600) as b:
        for n in range(3):
            target = _md5(args.entries - 1 - n)
            assert in_from_a(target)
            time.sleep(n * 1.3)  # vary where in the poll interval the withdrawal falls
            a_banks.add_entries("shared", [EntryInput("md5", target, retract=True)], source="import")
            t0 = time.perf_counter()
            while in_from_a(target):
                time.sleep(0.05)
                if time.perf_counter() - t0 > 60:
                    r = httpx.post(f"{b.url}/v1/match", json={"signals": {"md5": target}}, headers=headers)
                    ready = httpx.get(f"{b.url}/health/ready").json()
                    raise SystemExit(f"the withdrawal did not arrive within 60 s: {r.text[:800]} {ready}")
            samples.append(time.perf_counter() - t0)
    print(
        f"withdrawal latency with a {args.poll} s poll: "
        + ", ".join(f"{s:.1f}" for s in samples)
        + f" s (worst {max(samples):.1f} s)"
    )


if __name__ == "__main__":
    main()
