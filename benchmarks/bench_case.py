"""Triage cases: ingest rate against ``ohsc scan``'s in the same run, stacking 100,000 items
through the PDQ index, and a grid page of a 100,000-item case.

1. Ingest: a folder of N re-encoded corpus photos (1-2 MP, JPEG q70-94) plus exact copies and
   half-size near-duplicates; ``ohsc scan DIR`` and then ``ohsc case ingest CASE DIR`` (all cores,
   matching against an empty bank, stacking and series included), wall clock, files/s and the
   ratio. Peak memory (RSS) of each run.
2. Stacking: 100,000 PDQ hashes (25,000 random originals, each with 3 near-duplicates a few bits
   away) placed one by one by :class:`ohsc.cases.stacking.Stacker`, as ingest does.
3. Grid: a SQLite case of 100,000 items (written directly); the first page, a page 50,000 items
   deep (keyset cursor), and filtered pages (uncategorised, stacks of 2 or more), median of 5.
4. Memory (``--memory N``): the ingest's own process at N items, in a fresh process: synthetic
   scan records (random digests, PDQ codes with near-duplicates, EXIF camera and time, one in ten
   an exact copy) go through what ingest does with each hashed file (journal line, batches
   applied to a SQLite case, stacking) and the series regrouping at the end; no pictures are
   decoded, so this is the per-item store and stacking side. Resident memory (VmRSS) sampled
   every N/10 items, peak (VmHWM) at the end, and the main process's CPU time per item.
5. Videos (``--videos N``): what the keyframe strip adds to a video's hashing at ingest: vPDQ of
   N 640x480 slideshows (scan options) against the strip of the same files, in one process.

    .venv/bin/python benchmarks/bench_case.py [--photos 600] [--rounds 1] [--items 100000] [--memory 0] [--videos 0]

A part given 0 is skipped.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CORPUS, machine, need_corpus

OHSC = [sys.executable, "-m", "ohsc.cli"]


def build_folder(folder: Path, n: int) -> int:
    photos = sorted(CORPUS.glob("*.jpg"))
    rng = random.Random(7)
    count = 0
    for i in range(n):
        src = Image.open(photos[i % len(photos)]).convert("RGB")
        scale = rng.uniform(0.8, 1.1)
        im = src.resize((int(src.width * scale), int(src.height * scale)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=rng.randint(70, 94))
        data = buf.getvalue()
        sub = folder / f"d{i // 200:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"p{i:05d}.jpg").write_bytes(data)
        count += 1
        if i % 10 == 0:  # an exact copy elsewhere
            (folder / "copies").mkdir(exist_ok=True)
            (folder / "copies" / f"c{i:05d}.jpg").write_bytes(data)
            count += 1
        if i % 10 == 5:  # a half-size, recompressed near-duplicate
            small = io.BytesIO()
            im.resize((im.width // 2, im.height // 2)).save(small, "JPEG", quality=70)
            (folder / "small").mkdir(exist_ok=True)
            (folder / "small" / f"s{i:05d}.jpg").write_bytes(small.getvalue())
            count += 1
    return count


def timed_run(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) of the command and its workers, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    done = subprocess.run([*OHSC, *args], env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return wall, peak, done.stdout


def ingest_vs_scan(n: int, rounds: int = 1) -> None:
    """``ohsc scan`` then ``ohsc case ingest`` (a new case each round) on the same folder,
    ``rounds`` times one after the other; the ratio of each round and their median."""
    with tempfile.TemporaryDirectory(prefix="ohsc-bench-case-") as tmp:
        folder = Path(tmp) / "seized"
        files = build_folder(folder, n)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OHSC_")},
            "OHSC_HOME": str(Path(tmp) / "home"),
        }
        subprocess.run([*OHSC, "bank", "create", "empty"], env=env, check=True, capture_output=True)
        print(
            f"ingest: {files} files ({n} photos + copies + near-duplicates), load average {os.getloadavg()[0]:.1f}"
        )
        ratios = []
        for r in range(rounds):
            scan_s, scan_mb, _ = timed_run(
                env, "scan", str(folder), "--json", str(Path(tmp) / f"scan{r}.jsonl"), "--quiet"
            )
            name = f"bench{r}"
            subprocess.run([*OHSC, "case", "create", name], env=env, check=True, capture_output=True)
            ingest_s, ingest_mb, out = timed_run(
                env, "case", "ingest", name, str(folder), "--quiet", "--json"
            )
            summary = json.loads(out)
            stats = json.loads(
                subprocess.run(
                    [*OHSC, "case", "stats", name, "--json"],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            ratios.append(scan_s / ingest_s)
            print(f"  round {r + 1}: ohsc scan {files / scan_s:7.1f} files/s ({scan_s:.2f} s), "
                  f"ohsc case ingest {files / ingest_s:7.1f} files/s ({ingest_s:.2f} s): ratio {scan_s / ingest_s:.2f}; "
                  f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(
            f"  ingest / scan: median {statistics.median(ratios):.2f} of {rounds} (min {min(ratios):.2f}, max {max(ratios):.2f})"
        )
        print(
            f"  peak RSS of a child process: scan {scan_mb:.0f} MB, ingest {ingest_mb:.0f} MB (cumulative maximum)"
        )
        print(f"  items {stats['unique']}, stacks {stats['stacks']} ({stats['multi_stacks']} with near-duplicates), "
              f"duplicates {summary['duplicates']}")  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def near(code: np.ndarray, rng: np.random.Generator, bits: int) -> np.ndarray:
    out = code.copy()
    for b in rng.choice(256, size=bits, replace=False):
        out[b // 8] ^= 1 << (b % 8)
    return out


def stacking(items: int) -> None:
    """The stacker as ingest runs it (flat up to ``MIH_FROM`` items, then multi-index hashing),
    and the flat search alone on the same codes as the reference (what stacking was before)."""
    from ohsc.cases.stacking import MIH_FROM, Stacker, one_faiss_thread

    rng = np.random.default_rng(3)
    originals = rng.integers(0, 256, size=(items // 4, 32), dtype=np.uint8)
    codes = []
    for code in originals:
        codes.append(code)
        codes.extend(near(code, rng, int(rng.integers(1, 10))) for _ in range(3))
    order = rng.permutation(len(codes))
    hexes = [codes[i].tobytes().hex() for i in order]
    results = {}
    for name, mih_from in (("ingest's stacker", MIH_FROM), ("flat search (reference)", 10**12)):
        stacker = Stacker(threshold=31, quality_min=0, mih_from=mih_from)
        t0, c0 = time.perf_counter(), time.process_time()
        with one_faiss_thread():  # as ingest runs it
            for start in range(0, len(hexes), 256):  # as ingest applies its batches
                stacker.place_many(
                    [(i + 1, hexes[i], 100) for i in range(start, min(start + 256, len(hexes)))]
                )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        results[name] = (wall, cpu, stacker.stacks.tolist())
        held = getattr(stacker.index, "nbytes", 0)
        print(
            f"stacking, {name}: {len(hexes)} items in {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"({len(hexes) / wall:.0f} items/s); {len(set(stacker.stacks.tolist()))} stacks (expected {items // 4}); "
            f"{type(stacker.index).__name__}{f' ({held / 1e6:.1f} MB allocated)' if held else ''}; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    (wall, cpu, mine), (ref_wall, ref_cpu, ref) = results.values()
    print(
        f"  stacker / flat: {wall / ref_wall:.3f} wall, {cpu / ref_cpu:.3f} CPU; same stacks: {mine == ref}"
    )


def grid(items: int) -> None:
    from sqlalchemy import insert

    from ohsc.cases.grid import GridFilter
    from ohsc.cases.models import CaseItemRow
    from ohsc.cases.service import CaseService
    from ohsc.cases.stack_sizes import add_to_stacks
    from ohsc.settings import load_settings
    from ohsc.store.db import Store

    with tempfile.TemporaryDirectory(prefix="ohsc-bench-grid-") as tmp:
        settings = load_settings(home=Path(tmp))
        store = Store.from_settings(settings)
        service = CaseService(store, settings, actor="bench")
        case = service.create("big")
        rng = random.Random(5)
        rows = []
        for i in range(1, items + 1):
            known = rng.random() < 0.3
            stack = i - (i % 4) + 1 if i % 3 == 0 else i
            rows.append({
                "id": i, "case_id": case.id, "md5": f"{i:032x}", "media_kind": "image", "size": rng.randint(10**5, 3 * 10**6),
                "known": known, "known_category": "1" if known else None, "category": "1" if known else None,
                "disputed": False, "stack_id": stack, "exif": {}, "locations": 1,
            })  # fmt: skip
        with store.session() as s:
            for start in range(0, len(rows), 5000):
                s.execute(insert(CaseItemRow), rows[start : start + 5000])
            add_to_stacks(s, case.id, (r["stack_id"] for r in rows))  # as ingest keeps them
        cursor = service.grid("big", GridFilter(), limit=100)
        deep = None
        got = cursor
        for _ in range(items // 200):  # walk half way through by cursors
            got = service.grid("big", GridFilter(), cursor=got["next"], limit=100)
        deep = got["next"]

        def median_ms(fn: object) -> float:
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                fn()  # type: ignore[operator]
                times.append((time.perf_counter() - t0) * 1000)
            return statistics.median(times)

        first = median_ms(lambda: service.grid("big", GridFilter(), limit=100))
        middle = median_ms(lambda: service.grid("big", GridFilter(), cursor=deep, limit=100))
        uncategorised = median_ms(lambda: service.grid("big", GridFilter(category="none"), limit=100))
        stacked = median_ms(lambda: service.grid("big", GridFilter(min_stack=2), limit=100))
        # no stack has 4 items: the page looks at the whole case (a filter's worst case)
        none = median_ms(lambda: service.grid("big", GridFilter(min_stack=4), limit=100))
        print(f"grid of {items} items, 100 per page (median of 5): first {first:.1f} ms, 50,000 deep {middle:.1f} ms, "
              f"uncategorised {uncategorised:.1f} ms, stacks of 2+ {stacked:.1f} ms, of 4+ (none) {none:.1f} ms; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        # reference in the same run: the filter as it was before case_stacks (counting the items)
        from sqlalchemy import func, select

        def counted(n: int) -> None:
            sizes = (
                select(CaseItemRow.stack_id).where(CaseItemRow.case_id == case.id)
                .group_by(CaseItemRow.stack_id).having(func.count() >= n)
            )  # fmt: skip
            q = (
                select(CaseItemRow).where(CaseItemRow.case_id == case.id, CaseItemRow.stack_id.in_(sizes))
                .order_by(CaseItemRow.known, CaseItemRow.id).limit(101)
            )  # fmt: skip
            with store.session() as s:
                list(s.scalars(q))

        print(f"  reference, the counting filter: stacks of 2+ {median_ms(lambda: counted(2)):.1f} ms, "
              f"of 4+ (none) {median_ms(lambda: counted(4)):.1f} ms")  # fmt: skip
        store.dispose()


def _vm(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def synthetic_records(items: int) -> Iterator[dict[str, object]]:
    """Scan records as a case's hashing workers return them: groups of four near-duplicate PDQ
    codes (1-9 bits apart), one file in ten an exact copy of the one before, EXIF from 20
    cameras a minute apart in folders of 500."""
    rng = np.random.default_rng(11)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    code = rng.integers(0, 256, size=32, dtype=np.uint8)
    previous: dict[str, object] = {}
    for i in range(items):
        if i % 10 == 9:
            yield {**previous, "path": f"copies/c{i:06d}.jpg"}
            continue
        if i % 4 == 0:
            code = rng.integers(0, 256, size=32, dtype=np.uint8)
        digest = rng.bytes(32).hex()
        when = base + timedelta(minutes=i)
        previous = {
            "path": f"d{i // 500:04d}/p{i:06d}.jpg",
            "size": 150_000 + i % 1000,
            "md5": digest[:32],
            "sha1": digest[:40],
            "sha256": digest,
            "kind": "image",
            "format": "jpeg",
            "pdq": (code if i % 4 == 0 else near(code, rng, 1 + i % 9)).tobytes().hex(),
            "pdq_quality": 100,
            "extra": {"exif": {"Make": "Bench", "Model": f"M{i % 20}", "Width": "1600", "Height": "1200",
                               "DateTimeOriginal": when.strftime("%Y:%m:%d %H:%M:%S")}},
        }  # fmt: skip
        yield previous


def memory_child(items: int) -> None:
    """The ingest's main-process side for ``items`` synthetic records (see the module's doc)."""
    from ohsc.cases import ingest
    from ohsc.cases.batching import Batcher
    from ohsc.cases.model import IngestSummary
    from ohsc.cases.models import CaseRow, CaseSourceRow
    from ohsc.cases.service import CaseService
    from ohsc.scanning.journal import Journal
    from ohsc.settings import load_settings
    from ohsc.store.db import Store

    with tempfile.TemporaryDirectory(prefix="ohsc-bench-memory-") as tmp:
        settings = load_settings(home=Path(tmp))
        store = Store.from_settings(settings)
        CaseService(store, settings, actor="bench").create("memory")
        with store.session() as s:
            case = s.scalars(select(CaseRow)).one()
            source = CaseSourceRow(case_id=case.id, kind="folder", path="/seized")
            s.add(source)
            s.flush()
            s.expunge_all()
        summary = IngestSummary(source="/seized", kind="folder")
        applier = ingest.Applier(store, settings, case, source.id, Path("/seized"))

        def count(c: dict[str, int]) -> None:
            summary.files += c["files"]
            summary.new_items += c["new"]
            summary.duplicates += c["duplicates"]

        # in this thread: the CPU a record as before (ingest applies them in a writer thread)
        batcher = Batcher(applier, lambda _r: ingest.FileTimes(), count, background=False)
        journal = Journal(ingest.journal_path(settings, case.id, source.id), append=True)
        step = max(1, items // 10)
        samples = [(0, _vm("VmRSS"))]
        setup_peak = _vm("VmHWM")  # imports, migrations
        cpu0 = time.process_time()
        with ingest.one_faiss_thread():
            for n, record in enumerate(synthetic_records(items), 1):
                slim = ingest._slim(record)  # as ingest's on_record does
                journal.write(slim)
                batcher.add(slim)
                if n % step == 0:
                    batcher.flush()
                    samples.append((n, _vm("VmRSS")))
            batcher.flush()
        journal.close()
        cpu = time.process_time() - cpu0
        regroup0 = time.process_time()
        ingest_peak = _vm("VmHWM")
        ingest.finish_source(store, settings, case, source.id, "bench", summary)
        regroup = time.process_time() - regroup0
        samples.append((-1, _vm("VmRSS")))
        store.dispose()
    print(json.dumps({"samples": samples, "peak": _vm("VmHWM"), "setup_peak": setup_peak, "ingest_peak": ingest_peak, "cpu": cpu, "finish_cpu": regroup,
                      "items": summary.new_items, "duplicates": summary.duplicates, "series": summary.series}))  # fmt: skip


def memory(items: int) -> None:
    done = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(items)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    at = {n: mb for n, mb in got["samples"]}
    shown = ", ".join(f"{n:,}: {at[n]:.0f} MB" for n, _mb in got["samples"] if n >= 0)
    print(f"memory: {items:,} synthetic records ({got['items']:,} items, {got['duplicates']:,} exact copies, "
          f"{got['series']:,} series); RSS at {shown}; after finishing (series) {at[-1]:.0f} MB; "
          f"peak {got['peak']:.0f} MB (after setting up {got['setup_peak']:.0f} MB, after the records "
          f"{got['ingest_peak']:.0f} MB); main-process CPU {1000 * got['cpu'] / items:.2f} ms a record, "
          f"finishing {got['finish_cpu']:.1f} s; load average {os.getloadavg()[0]:.1f}")  # fmt: skip


def video_strips(count: int) -> None:
    from ohsc.cases.strips import keyframe_strip
    from ohsc.settings import load_settings
    from ohsc.signals.files import HashOptions, hash_path
    from ohsc.video.synth import Encoding, slideshow

    photos = sorted(CORPUS.glob("*.jpg"))
    options = HashOptions.from_settings(load_settings())
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for n in range(count):
            pics = [Image.open(p).convert("RGB") for p in photos[6 * n : 6 * n + 6]]
            path = Path(tmp) / f"v{n}.mp4"
            slideshow(
                pics, path, size=(640, 480), seconds_per_picture=5.0, encoding=Encoding(fps=25, gop=125)
            )
            paths.append(path)
        start = time.process_time()
        for path in paths:
            assert hash_path(path, options).vpdq
        hashing = time.process_time() - start
        start = time.process_time()
        for path in paths:
            assert keyframe_strip(path) is not None
        strips = time.process_time() - start
    print(
        f"videos: {count} x 30 s 640x480 H.264 (keyframe every 5 s): vPDQ {hashing / count:.3f} s CPU "
        f"a video, keyframe strip {strips / count:.3f} s CPU a video: strip/vPDQ {strips / hashing:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=600)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--videos", type=int, default=0)
    parser.add_argument(
        "--rounds", type=int, default=1, help="scan and ingest this many times each, alternating"
    )
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    need_corpus()
    print(machine())
    if args.items:
        stacking(args.items)
        grid(args.items)
    if args.memory:
        memory(args.memory)
    if args.photos:
        ingest_vs_scan(args.photos, args.rounds)
    if args.videos:
        video_strips(args.videos)


if __name__ == "__main__":
    main()
