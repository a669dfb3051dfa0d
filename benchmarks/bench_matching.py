"""PDQ matching at scale: OHSC's index vs faiss ``IndexBinaryFlat``, one core.

For each bank size N: N random 256-bit codes; near-duplicate queries are stored codes with 0..31
random bits flipped (every query has a true match within 31). Both indexes answer range queries
one at a time (as a service does) on one thread. Recall is checked against faiss flat (exhaustive)
on every query it answered: OHSC must return exactly the same labels (100% recall, no extras).
Memory is each index's resident size. Rates are queries per CPU-second of the one-core process.
Also measures how fast an added code becomes matchable.

    .venv/bin/python benchmarks/bench_matching.py --sizes 1000000 10000000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, pin_one_core, rss_mb
from ohsc.index.pdq_index import PdqIndex


def flip_bits(rng: np.random.Generator, codes: np.ndarray, max_bits: int) -> np.ndarray:
    out = codes.copy()
    for row in out:
        k = int(rng.integers(0, max_bits + 1))
        for bit in rng.choice(256, k, replace=False):
            row[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def run(n: int, queries: int, flat_queries: int, radius: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    labels = np.arange(1, n + 1, dtype=np.int64)
    picks = rng.integers(0, n, queries)
    q = flip_bits(rng, codes[picks], radius)
    q_hex = [row.tobytes().hex() for row in q]

    # --- faiss flat ---------------------------------------------------------------------------
    before = rss_mb()
    flat = faiss.IndexBinaryFlat(256)
    t0 = time.perf_counter()
    flat.add(codes)
    flat_build = time.perf_counter() - t0
    flat_mem = rss_mb() - before
    truth: list[set[int]] = []
    t0 = time.process_time()
    for i in range(min(flat_queries, queries)):
        _lims, _d, ids = flat.range_search(q[i : i + 1], radius + 1)
        truth.append({int(x) + 1 for x in ids})
    flat_qps = len(truth) / (time.process_time() - t0)
    del flat

    # --- OHSC -----------------------------------------------------------------------------------
    before = rss_mb()
    t0 = time.perf_counter()
    idx = PdqIndex()
    idx.add_codes(labels, codes)
    idx.compact()
    build = time.perf_counter() - t0
    del codes
    ours_mem_rss = rss_mb() - before
    ours_mem = idx.memory_bytes() / 1e6
    for h in q_hex[:20]:  # warm the jitted kernel
        idx.query(h, radius)
    t0 = time.process_time()
    results = [idx.query(h, radius) for h in q_hex]
    ours_qps = queries / (time.process_time() - t0)
    planted = sum(int(picks[i]) + 1 in {hit.label for hit in r} for i, r in enumerate(results)) / queries
    exact = sum({hit.label for hit in results[i]} == truth[i] for i in range(len(truth))) / len(truth)

    # --- freshness: a new code is matchable right after add ---------------------------------------
    new = rng.integers(0, 256, size=(1, 32), dtype=np.uint8)
    t0 = time.perf_counter()
    idx.add_codes(np.array([n + 10], dtype=np.int64), new)
    found = any(hit.label == n + 10 for hit in idx.query(new[0].tobytes().hex(), radius))
    fresh_ms = (time.perf_counter() - t0) * 1000
    return {
        "n": n,
        "flat_mem": flat_mem,
        "flat_build": flat_build,
        "flat_qps": flat_qps,
        "ours_mem": ours_mem,
        "ours_mem_rss": ours_mem_rss,
        "ours_build": build,
        "ours_qps": ours_qps,
        "planted": planted,
        "exact": exact,
        "fresh_ms": fresh_ms if found else float("nan"),
        "stats": str(idx.stats()["base"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--flat-queries", type=int, default=300, help="faiss flat is slow at 10M")
    parser.add_argument("--radius", type=int, default=31)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pin_one_core()
    faiss.omp_set_num_threads(1)
    print(f"# PDQ range search (radius {args.radius}), one core: {machine()}")
    print(
        "| bank size | faiss flat memory | OHSC index memory (RSS) | faiss flat queries/s | OHSC queries/s | "
        "speed-up | OHSC build | recall vs flat | planted found | add -> matchable |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        r = run(n, args.queries, args.flat_queries, args.radius, args.seed)
        print(
            f"| {n:,} | {r['flat_mem']:.0f} MB | {r['ours_mem']:.0f} MB ({r['ours_mem_rss']:.0f}) | "
            f"{r['flat_qps']:.0f} | {r['ours_qps']:.0f} | **{r['ours_qps'] / r['flat_qps']:.0f}x** | "
            f"{r['ours_build']:.1f} s | {r['exact']:.0%} | {r['planted']:.0%} | {r['fresh_ms']:.2f} ms |"
        )


if __name__ == "__main__":
    main()
