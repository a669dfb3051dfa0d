"""Load benchmark of the service: ``POST /v1/match`` with signals against a 1M-entry bank.

Bulk-loads N random PDQ entries into a fresh store, builds the index files, starts ``ohsc serve``
as a separate process, and drives it over keep-alive HTTP/1.1 from a lean asyncio client in
this process (on the same machine: client and server share the cores). Measured in the same run:

* the reference: ``GET /health/live`` through the same HTTP stack and client (the ceiling of the
  server + client pair on this machine), for ``--reference-seconds``;
* the most it serves: closed-loop ``/v1/match`` over ``--connections`` keep-alive connections for
  ``--max-seconds``;
* the target: open-loop ``/v1/match`` at ``--rate`` requests/s for ``--duration`` seconds (latency
  counted from when each request was due): requests/s, p50/p90/p99/max latency, status codes,
  and the server's resident memory (sampled every second: start, end, max, slope per minute).

99 % of queries are random PDQ hashes (no match: the common case for a platform), 1 % are
bank hashes with 5 bits flipped (a match: content record, match records, review item, audit
event, webhook outbox). Results go to ``benchmarks/results/`` as JSON.

    python benchmarks/bench_service.py --duration 600            # the record (10 minutes)
    python benchmarks/bench_service.py --duration 20 --entries 100000   # a quick check

Each run is checked against ``benchmarks/service_baseline.json`` (:mod:`service_baseline`): a
match/reference ratio below the recorded one (less its tolerance) exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from service_baseline import BASELINE, check
from service_baseline import load as load_baseline

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


# --- setup ------------------------------------------------------------------------------------


def bulk_load(home: Path, entries: int, database_url: str | None) -> list[str]:
    """Create bank ``bench`` with ``entries`` random PDQ hashes (core inserts, 50k a transaction)."""
    from sqlalchemy import insert

    from ohsc.banks.service import BankService
    from ohsc.index.manager import IndexSet
    from ohsc.settings import load_settings
    from ohsc.store.db import Store, next_seq
    from ohsc.store.models import EntryRow
    from ohsc.store.types import utcnow

    settings = load_settings(home=home, database_url=database_url)
    store = Store.from_settings(settings)
    bank = BankService(store, settings, actor="bench").create_bank("bench", threshold=31)
    rng = np.random.default_rng(20261121)
    sample: list[str] = []
    started = time.monotonic()
    batch = 50_000
    now = utcnow()
    for start in range(0, entries, batch):
        n = min(batch, entries - start)
        codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        values = [c.tobytes().hex() for c in codes]
        sample.extend(values[:: max(1, n // 200)])
        with store.session() as s:
            last = next_seq(s, "entry_seq", n)
            first = last - n + 1
            s.execute(
                insert(EntryRow),
                [
                    {
                        "bank_id": bank.id,
                        "signal_type": "pdq",
                        "value": v,
                        "quality": 100,
                        "labels": [],
                        "source": "import",
                        "source_ref": "bench",
                        "created_at": now,
                        "updated_at": now,
                        "seq": first + i,
                    }
                    for i, v in enumerate(values)
                ],
            )
        print(f"  loaded {start + n:,} entries ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    t0 = time.monotonic()
    iset = IndexSet(store, settings.index_dir)
    iset.rebuild()
    iset.save()
    print(f"  index built and saved in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    store.dispose()
    return sample


def make_key(home: Path, database_url: str | None) -> str:
    from ohsc.accounts.service import AccountService
    from ohsc.settings import load_settings
    from ohsc.store.db import Store

    settings = load_settings(home=home, database_url=database_url)
    store = Store.from_settings(settings)
    key = AccountService(store, settings, actor="bench").create_api_key("bench", ["match"]).secret
    store.dispose()
    return key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, port: int, workers: int, database_url: str | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OHSC_")}
    env.update(
        {
            "OHSC_HOME": str(home),
            "OHSC_PORT": str(port),
            "OHSC_MATCH_RATE_PER_MINUTE": "0",
            "OHSC_LOG_LEVEL": "WARNING",
        }
    )
    if database_url:
        env["OHSC_DATABASE_URL"] = database_url
    ohsc = Path(sys.executable).with_name("ohsc")
    log = (home / "server.log").open("wb")
    return subprocess.Popen(
        [str(ohsc), "serve", "--no-access-log", "--workers", str(workers)], env=env, stdout=log, stderr=log
    )


def wait_ready(port: int, timeout: float = 600.0) -> float:
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not become ready")


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn workers)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


# --- load --------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    #: latencies of the answers that matched (they take the full path: rules, review, audit)
    matched_latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    matched: int = 0
    per_second: list[int] = field(default_factory=list)
    memory: list[tuple[float, int]] = field(default_factory=list)


def flip(value: str, bits: int) -> str:
    n = int(value, 16)
    for b in random.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


async def _connection(
    port: int, stop: float, make: Any, stats: Stats, counter: list[int], track_matches: bool
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            request = make()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            stats.latencies.append(time.perf_counter() - started)
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            counter[0] += 1
            if track_matches and b'"matched":true' in body:
                stats.matched += 1
                stats.matched_latencies.append(stats.latencies[-1])
    finally:
        writer.close()


async def drive(
    port: int, seconds: float, connections: int, make: Any, server_pid: int, track_matches: bool
) -> Stats:
    stats = Stats()
    counter = [0]
    stop = time.perf_counter() + seconds

    async def sampler() -> None:
        last = 0
        t0 = time.perf_counter()
        while time.perf_counter() < stop:
            await asyncio.sleep(1.0)
            stats.per_second.append(counter[0] - last)
            last = counter[0]
            stats.memory.append((time.perf_counter() - t0, rss_bytes(server_pid)))

    await asyncio.gather(
        sampler(), *(_connection(port, stop, make, stats, counter, track_matches) for _ in range(connections))
    )
    return stats


async def drive_rate(
    port: int, seconds: float, rate: float, connections: int, make: Any, server_pid: int
) -> Stats:
    """Open loop: requests are due at a fixed rate whatever the answers do; latency is measured
    from when each was due, so a stalled server shows up in the figures (no coordinated omission)."""
    stats = Stats()
    counter = [0]
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    start = time.perf_counter()
    stop = start + seconds

    async def one(due: float) -> None:
        reader, writer = await idle.get()
        try:
            writer.write(make())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
        finally:
            idle.put_nowait((reader, writer))
        stats.latencies.append(time.perf_counter() - due)
        stats.statuses[status] = stats.statuses.get(status, 0) + 1
        counter[0] += 1
        if b'"matched":true' in body:
            stats.matched += 1
            stats.matched_latencies.append(stats.latencies[-1])

    async def sampler() -> None:
        last = 0
        while time.perf_counter() < stop:
            await asyncio.sleep(1.0)
            stats.per_second.append(counter[0] - last)
            last = counter[0]
            stats.memory.append((time.perf_counter() - start, rss_bytes(server_pid)))

    sampling = asyncio.create_task(sampler())
    tasks: set[asyncio.Task[None]] = set()
    i = 0
    while True:
        due = start + i / rate
        if due >= stop:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    if tasks:
        await asyncio.gather(*tasks)
    await sampling
    while not idle.empty():
        _reader, writer = idle.get_nowait()
        writer.close()
    return stats


def set_difference(values: list[float], remove: list[float]) -> list[float]:
    """``values`` without one occurrence of each of ``remove`` (a multiset difference)."""
    counts: dict[float, int] = {}
    for v in remove:
        counts[v] = counts.get(v, 0) + 1
    out = []
    for v in values:
        if counts.get(v, 0):
            counts[v] -= 1
        else:
            out.append(v)
    return out


def summarise(stats: Stats, seconds: float) -> dict[str, Any]:
    lat = sorted(stats.latencies)
    n = len(lat)

    def pct(p: float) -> float:
        return round(lat[min(n - 1, int(p * n))] * 1000, 2) if n else 0.0

    out: dict[str, Any] = {
        "requests": n,
        "requests_per_s": round(n / seconds, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 2) if n else 0.0,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "matched": stats.matched,
        "slowest_second_rps": min(stats.per_second) if stats.per_second else 0,
    }
    if stats.matched_latencies:
        matched = sorted(stats.matched_latencies)
        unmatched = sorted(set_difference(stats.latencies, stats.matched_latencies))
        out["matched_p50_ms"] = round(matched[len(matched) // 2] * 1000, 2)
        out["matched_p99_ms"] = round(matched[min(len(matched) - 1, int(0.99 * len(matched)))] * 1000, 2)
        if unmatched:
            out["unmatched_p50_ms"] = round(unmatched[len(unmatched) // 2] * 1000, 2)
            out["unmatched_p99_ms"] = round(
                unmatched[min(len(unmatched) - 1, int(0.99 * len(unmatched)))] * 1000, 2
            )
    if stats.memory:
        mem = [m for _, m in stats.memory]
        xs = [t for t, _ in stats.memory]
        slope = 0.0
        if len(xs) > 2:
            mx, my = statistics.fmean(xs), statistics.fmean(mem)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, mem, strict=True)) / max(
                1e-9, sum((x - mx) ** 2 for x in xs)
            )
        out["memory_mb"] = {
            "start": round(mem[0] / 2**20, 1),
            "end": round(mem[-1] / 2**20, 1),
            "max": round(max(mem) / 2**20, 1),
            "slope_mb_per_min": round(slope * 60 / 2**20, 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--duration",
        type=float,
        default=600.0,
        help="Seconds of the open-loop run at --rate (600 for the record).",
    )
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="Requests per second of the open-loop run."
    )
    parser.add_argument(
        "--max-seconds", type=float, default=30.0, help="Seconds of the closed-loop (maximum) run."
    )
    parser.add_argument("--reference-seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="Server processes.")
    parser.add_argument("--match-share", type=float, default=0.01, help="Share of queries that match.")
    parser.add_argument("--home", type=Path, help="Keep the data here (default: a temporary folder).")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: the embedded SQLite store).")
    parser.add_argument(
        "--baseline", type=Path, default=BASELINE, help="Recorded match/reference ratios to check against."
    )
    parser.add_argument("--no-check", action="store_true", help="Measure only; do not check the baseline.")
    parser.add_argument(
        "--check-report", type=Path, help="Only check a report this script wrote earlier (JSON) and exit."
    )
    args = parser.parse_args()
    if args.check_report is not None:
        check_against_baseline(json.loads(args.check_report.read_text()), args.baseline)
        return

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass

    tmp = None
    if args.home is None:
        tmp = tempfile.TemporaryDirectory(prefix="ohsc-bench-")
        home = Path(tmp.name)
    else:
        home = args.home
        home.mkdir(parents=True, exist_ok=True)
    print(f"loading {args.entries:,} PDQ entries into {home} ...", file=sys.stderr)
    t0 = time.monotonic()
    sample = bulk_load(home, args.entries, args.database_url)
    load_s = time.monotonic() - t0
    key = make_key(home, args.database_url)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    port = free_port()
    server = start_server(home, port, args.workers, args.database_url)
    try:
        ready_s = wait_ready(port)
        print(f"server ready in {ready_s:.1f} s; reference run ...", file=sys.stderr)
        auth = f"Authorization: Bearer {key}\r\n"

        def live_request() -> bytes:
            return b"GET /health/live HTTP/1.1\r\nHost: bench\r\n\r\n"

        def match_request() -> bytes:
            if random.random() < args.match_share:
                value = flip(random.choice(sample), 5)
            else:
                value = secrets.token_hex(32)
            body = json.dumps({"signals": {"pdq": value}}).encode()
            return (
                f"POST /v1/match HTTP/1.1\r\nHost: bench\r\n{auth}Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body

        ref = asyncio.run(
            drive(port, args.reference_seconds, args.connections, live_request, server.pid, False)
        )
        reference = summarise(ref, args.reference_seconds)
        print(
            f"reference: {reference['requests_per_s']} req/s; closed loop for {args.max_seconds:.0f} s",
            file=sys.stderr,
        )
        closed = asyncio.run(drive(port, args.max_seconds, args.connections, match_request, server.pid, True))
        maximum = summarise(closed, args.max_seconds)
        print(
            f"maximum: {maximum['requests_per_s']} req/s; {args.rate:.0f}/s for {args.duration:.0f} s",
            file=sys.stderr,
        )
        load = asyncio.run(
            drive_rate(port, args.duration, args.rate, args.connections, match_request, server.pid)
        )
        result = summarise(load, args.duration)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    report = {
        "benchmark": "service /v1/match (signals)",
        "load_average_before": load_before,
        "load_average_at_end": Path("/proc/loadavg").read_text().split()[:3],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "args": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "database_url"
        },
        "store": "postgresql" if args.database_url else "sqlite",
        "load_seconds": round(load_s, 1),
        "ready_seconds": round(ready_s, 1),
        "reference_health_live": reference,
        "match_maximum": maximum,
        "match_at_rate": result,
        "ratio_match_to_reference": round(
            maximum["requests_per_s"] / max(1.0, reference["requests_per_s"]), 3
        ),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"service-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(f"written to {out}", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    if not args.no_check:
        check_against_baseline(report, args.baseline)


def check_against_baseline(report: dict[str, Any], baseline: Path) -> None:
    """Exit with status 1 and say why when the run is below the recorded ratio."""
    verdict = check(report, load_baseline(baseline))
    print(verdict.message, file=sys.stderr)
    if not verdict.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
