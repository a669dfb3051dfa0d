"""A scan through a Dask cluster vs the same scan on local worker processes, and the costs that
model a cluster's throughput against its size.

1. The same photo folder (re-encoded corpus photos) scanned end to end by ``ohsc scan`` twice per
   round: ``--workers 2`` (local processes) and ``--cluster`` on a 2-worker, 1-thread ``LocalCluster``
   started here (its start-up is not timed: a cluster is long-lived). Rounds alternate the order; the
   best wall time of each is kept. Target: cluster >= 0.85x local.
2. Per-task cost: no-op tasks through the scheduler (what one batch costs the scheduler and the
   client beyond its work), and the round trip of one empty batch.
3. Per-file costs: hashing one photo (one core, in this process), and the scanning process's own
   work per file on a cluster scan (match against the bank + record + journal line), with the
   match alone measured apart (best of three passes over the same signals).
4. A model of files/s against worker count (1..100) for several batch sizes.

    .venv/bin/python benchmarks/bench_cluster.py [--photos 10000] [--rounds 2] [--photos-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from PIL import Image

from common import machine, need_corpus

OHSC = [sys.executable, "-m", "ohsc.cli"]


class _SkipScansError(Exception):
    pass


def make_photos(n: int, photos: list[Path], folder: Path) -> None:
    folder.mkdir()
    made = 0
    while made < n:
        for p in photos:
            if made >= n:
                break
            with Image.open(p) as im:
                rgb = im.convert("RGB")
                scale = 0.5 + (made % 7) / 10
                rgb = rgb.resize((max(64, int(rgb.width * scale)), max(64, int(rgb.height * scale))))
                sub = folder / f"d{made // 1000:02d}"
                sub.mkdir(exist_ok=True)
                rgb.save(sub / f"{made:06d}.jpg", "JPEG", quality=70 + made % 25)
            made += 1


def _cpu(who: int) -> float:
    use = resource.getrusage(who)
    return use.ru_utime + use.ru_stime


def _cluster_cpu(workers: list[Any]) -> float:
    """This process (the scheduler and the nannies of the LocalCluster) and its worker processes."""
    return _cpu(resource.RUSAGE_SELF) + sum(sum(w.cpu_times()[:2]) for w in workers)


def timed_scan(
    env: dict[str, str], folder: Path, records: Path, *extra: str, workers: list[Any] | None = None
) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the scan (the scanning process and its worker processes;
    for a cluster scan also the scheduler, nannies and Dask workers)."""
    records.unlink(missing_ok=True)
    c0 = _cpu(resource.RUSAGE_CHILDREN) + (_cluster_cpu(workers) if workers else 0.0)
    t0 = time.perf_counter()
    subprocess.run(
        [*OHSC, "scan", str(folder), "--json", str(records), "--quiet", *extra],
        env=env,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t0
    return wall, _cpu(resource.RUSAGE_CHILDREN) + (_cluster_cpu(workers) if workers else 0.0) - c0


def noop(*args: Any) -> None:
    return None


def task_costs(client: Any, n: int = 400) -> tuple[float, float]:
    """Seconds per no-op task at full pipeline (scheduler throughput), and one batch's round trip."""
    t0 = time.perf_counter()
    futures = [client.submit(noop, i, pure=False) for i in range(n)]
    client.gather(futures)
    per_task = (time.perf_counter() - t0) / n
    trips = []
    for i in range(20):
        t1 = time.perf_counter()
        client.submit(noop, -i, pure=False).result()
        trips.append(time.perf_counter() - t1)
    return per_task, sorted(trips)[len(trips) // 2]


def per_file_costs(home: Path, files: list[Path]) -> tuple[float, float, float, float]:
    """Hash seconds per file (one core), the scanning process's seconds per file (match + record +
    journal line), the match's share of that alone, and mean bytes per file."""
    from ohsc.matching.matcher import Matcher
    from ohsc.scanning.journal import Journal
    from ohsc.settings import load_settings
    from ohsc.signals.files import HashOptions, hash_path
    from ohsc.store.db import Store

    settings = load_settings(home=home)
    options = HashOptions.from_settings(settings)
    hash_path(files[0], options)  # warm up
    t0 = time.perf_counter()
    sigs = [hash_path(p, options) for p in files]
    per_hash = (time.perf_counter() - t0) / len(files)
    matcher = Matcher.open(Store.from_settings(settings), settings)
    matcher.match(sigs[0].signals(), pdq_quality=sigs[0].pdq_quality)
    rounds = 3  # the match alone, best of three passes over the same signals
    per_match = float("inf")
    split: dict[bool, list[float]] = {True: [], False: []}  # seconds per call, matched or not
    for r in range(rounds):
        t2 = time.perf_counter()
        for sig in sigs:
            t3 = time.perf_counter()
            hit = bool(matcher.match(sig.signals(), pdq_quality=sig.pdq_quality).matches)
            if r == rounds - 1:
                split[hit].append(time.perf_counter() - t3)
        per_match = min(per_match, (time.perf_counter() - t2) / len(files))
    for hit, times in split.items():
        mean = sum(times) / len(times) if times else 0.0
        print(
            f"match alone, {'matched' if hit else 'unmatched'} files: {len(times)}, {mean * 1e3:.2f} ms each"
        )
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "j.jsonl", append=False)
        t1 = time.perf_counter()
        for path, sig in zip(files, sigs, strict=True):
            record: dict[str, Any] = {"path": str(path), **sig.to_dict()}
            record.update(matcher.match(sig.signals(), pdq_quality=sig.pdq_quality).to_dict())
            journal.write(record)
        per_client = (time.perf_counter() - t1) / len(files)
        journal.close()
    size = sum(p.stat().st_size for p in files) / len(files)
    return per_hash, per_client, per_match, size


def model(per_hash: float, per_task: float, per_client: float, size: float) -> None:
    store_mb_s = 1000.0  # one 10 GbE link to the shared store, ~1 GB/s
    print("\n| workers | batch 1 | batch 4 | batch 16 | batch 64 | limit at batch 16 |")
    print("|---|---|---|---|---|---|")
    for w in (1, 2, 4, 8, 16, 32, 64, 100):
        cells = []
        for b in (1, 4, 16, 64):
            hashing = w / per_hash
            scheduler = b / per_task
            client = 1 / per_client
            store = store_mb_s * 1e6 / size
            cells.append((min(hashing, scheduler, client, store), hashing, scheduler, client, store))
        b16 = cells[2]
        names = ["workers", "scheduler", "scanning process", "store link"]
        limit = names[min(range(4), key=lambda i: b16[i + 1])]
        print(f"| {w} | " + " | ".join(f"{c[0]:,.0f}" for c in cells) + f" | {limit} |")
    print(
        f"\n(files/s; hashing {per_hash * 1e3:.1f} ms/file/core, scheduler {per_task * 1e3:.2f} ms/task, "
        f"scanning process {per_client * 1e3:.2f} ms/file, {size / 1e3:.0f} kB/file, store {store_mb_s:.0f} MB/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--costs-only", action="store_true", help="skip the timed scans (1.); costs and model"
    )
    parser.add_argument(
        "--photos-dir",
        type=Path,
        help="make the photos here once and reuse them (e.g. made beforehand under nice, so that "
        "the timed run holds the benchmark lock for the scans only)",
    )
    args = parser.parse_args()
    from ohsc.cluster.local import start_local

    photos = need_corpus()
    print(f"# Scan on a Dask cluster: {machine()}")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        env = {**os.environ, "OHSC_HOME": str(tmp / "home")}
        subprocess.run([*OHSC, "bank", "create", "known"], env=env, check=True, capture_output=True)
        subprocess.run(
            [*OHSC, "bank", "add", "known", *map(str, photos[::4])], env=env, check=True, capture_output=True
        )
        folder = args.photos_dir or tmp / "photos"
        if not folder.exists():
            make_photos(args.photos, photos, folder)
        elif sum(1 for _ in folder.rglob("*")) != args.photos + len(list(folder.glob("d*"))):
            raise SystemExit(f"{folder} does not hold exactly the {args.photos} photos of --photos")
        import psutil

        cluster = start_local(2, threads=1)  # the cluster `ohsc cluster local --workers 2` starts
        try:
            from distributed import Client

            client = Client(cluster.scheduler_address, set_as_default=False)
            client.wait_for_workers(2)
            dask_workers = psutil.Process().children()  # before any scan: the Dask workers only
            local_s: list[float] = []
            cluster_s: list[float] = []
            local_cpu: list[float] = []
            cluster_cpu: list[float] = []
            print(f"load average at the start: {os.getloadavg()[0]:.1f}")
            for r in range(0 if args.costs_only else args.rounds):
                order = ["local", "cluster"] if r % 2 == 0 else ["cluster", "local"]
                for which in order:
                    if which == "local":
                        wall, cpu = timed_scan(env, folder, tmp / "l.jsonl", "--workers", "2")
                        local_s.append(wall)
                        local_cpu.append(cpu)
                    else:
                        wall, cpu = timed_scan(
                            env,
                            folder,
                            tmp / "c.jsonl",
                            "--cluster",
                            cluster.scheduler_address,
                            workers=dask_workers,
                        )
                        cluster_s.append(wall)
                        cluster_cpu.append(cpu)
            print(f"load average at the end: {os.getloadavg()[0]:.1f}")
            per_task, trip = task_costs(client)
            client.close()
            if args.costs_only:
                raise _SkipScansError
            same = sorted((tmp / "l.jsonl").read_text().splitlines()) == sorted(
                (tmp / "c.jsonl").read_text().splitlines()
            )
            matched = sum(
                bool(json.loads(x).get("matched")) for x in (tmp / "c.jsonl").read_text().splitlines()
            )
            n = args.photos
            print(
                "\n| photos | local --workers 2 files/s | --cluster (2 workers x 1 thread) files/s | ratio |"
            )
            print("|---|---|---|---|")
            lo, cl = min(local_s), min(cluster_s)
            print(f"| {n} | {n / lo:.1f} | {n / cl:.1f} | **{lo / cl:.2f}x** |")
            print(
                f"(best of {args.rounds}; local runs {[round(x, 1) for x in local_s]} s, cluster runs "
                f"{[round(x, 1) for x in cluster_s]} s; identical records: {same}; {matched} matched)"
            )
            lc, cc = min(local_cpu), min(cluster_cpu)
            print(
                f"CPU seconds per scan (all its processes): local {[round(x, 1) for x in local_cpu]}, "
                f"cluster {[round(x, 1) for x in cluster_cpu]}; least of each: cluster / local "
                f"{cc / lc:.2f}x"
            )
        except _SkipScansError:
            pass
        finally:
            cluster.close()
        files = sorted(folder.rglob("*.jpg"))[:200]
        per_hash, per_client, per_match, size = per_file_costs(tmp / "home", files)
        print(
            f"\nper task: {per_task * 1e3:.2f} ms (no-op tasks, pipelined), one batch's round trip "
            f"{trip * 1e3:.1f} ms; per file: hash {per_hash * 1e3:.1f} ms (one core), "
            f"scanning process {per_client * 1e3:.2f} ms (match + record + journal), of which the "
            f"match alone {per_match * 1e3:.2f} ms ({per_match / per_client:.0%})"
        )
        model(per_hash, per_task, per_client, size)


if __name__ == "__main__":
    main()
