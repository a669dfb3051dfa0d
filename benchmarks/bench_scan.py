"""End-to-end scan throughput on the benign corpus, all cores, vs a one-process reference.

The reference is what a script built on python-threatexchange does: for each file, read it,
MD5 it, Pillow-decode and ``pdqhash`` it, look the hash up in a faiss ``IndexBinaryFlat``; one
process. OHSC runs ``ohsc scan`` (fast PDQ, all cores, digests + PDQ matched against a bank that
holds a quarter of the corpus). With ``--many N`` it also builds an N-photo folder (re-encoded
corpus photos), scans it with a progress bar, reports CPU use (how busy the cores were), kills
the scan with SIGKILL half-way and checks that ``--resume`` finishes with one record per file.

    .venv/bin/python benchmarks/bench_scan.py [--many 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
import pdqhash
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, need_corpus

OHSC = [sys.executable, "-m", "ohsc.cli"]


def reference_scan(files: list[Path], bank_codes: np.ndarray) -> float:
    index = faiss.IndexBinaryFlat(256)
    index.add(bank_codes)
    t0 = time.perf_counter()
    for path in files:
        data = path.read_bytes()
        hashlib.md5(data, usedforsecurity=False).hexdigest()
        arr = np.asarray(Image.open(path))
        if arr.ndim == 2:
            arr = np.concatenate([arr[..., None]] * 3, axis=2)
        vector, _quality = pdqhash.compute(arr)
        code = np.packbits(vector.astype(np.uint8))[None, :]
        index.range_search(code, 32)
    return time.perf_counter() - t0


def ohsc(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*OHSC, *args], env=env, check=check, capture_output=True)


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--many", type=int, default=0, help="also scan an N-photo folder (kill -9 and resume)"
    )
    args = parser.parse_args()
    photos = need_corpus()
    cores = len(os.sched_getaffinity(0))
    print(f"# Scan throughput: {machine()}")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        env = {**os.environ, "OHSC_HOME": str(tmp / "home")}
        known = photos[::4]
        ohsc(env, "bank", "create", "known")
        ohsc(env, "bank", "add", "known", *map(str, known))
        codes = []
        for p in known:
            arr = np.asarray(Image.open(p).convert("RGB"))
            codes.append(np.packbits(pdqhash.compute(arr)[0].astype(np.uint8)))
        ref_s = reference_scan(photos, np.stack(codes))
        ohsc(env, "index", "status")  # index files written; not part of the timing
        cpu0 = cpu_children()
        t0 = time.perf_counter()
        out = ohsc(env, "scan", str(photos[0].parent), "--json", str(tmp / "r.jsonl"), "--quiet")
        wall = time.perf_counter() - t0
        cpu = cpu_children() - cpu0
        rows = [json.loads(x) for x in (tmp / "r.jsonl").read_text().splitlines()]
        images = [r for r in rows if r.get("kind") == "image"]
        matched = sum(bool(r.get("matched")) for r in images)
        print(
            "| files | reference (1 process) files/s | ohsc scan files/s (all cores) | ratio | cores busy | matched |\n"
            "|---|---|---|---|---|---|\n"
            f"| {len(images)} photos | {len(photos) / ref_s:.1f} | {len(images) / wall:.1f} | "
            f"**{(len(images) / wall) / (len(photos) / ref_s):.1f}x** | {cpu / wall / cores:.0%} of {cores} | "
            f"{matched} of {len(known)} in the bank |"
        )
        print(
            f"(ohsc scan wall time includes process start and index load: {wall:.1f} s; {out.stdout.decode().strip()})"
        )
        if args.many:
            many(args.many, photos, tmp, env, cores)


def many(n: int, photos: list[Path], tmp: Path, env: dict[str, str], cores: int) -> None:
    folder = tmp / "many"
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
    records = tmp / "many.jsonl"
    cmd = [*OHSC, "scan", str(folder), "--json", str(records), "--quiet"]
    cpu0 = cpu_children()
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    cpu = cpu_children() - cpu0
    print(
        f"\n{n} photos: {n / wall:.1f} files/s, cores busy {cpu / wall / cores:.0%} of {cores} ({wall:.0f} s)"
    )
    # kill -9 half-way, then resume
    records.unlink()
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while not records.exists() or len(records.read_bytes().splitlines()) < n // 2:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(records.read_bytes().splitlines())
    subprocess.run([*cmd, "--resume"], env=env, check=True, capture_output=True)
    paths = [json.loads(x)["path"] for x in records.read_text().splitlines()]
    ok = len(paths) == len(set(paths)) == n
    print(
        f"kill -9 after {before} records, --resume: {len(paths)} records, {len(set(paths))} distinct: {'OK' if ok else 'FAIL'}"
    )
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
