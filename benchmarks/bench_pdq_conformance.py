"""PDQ fast mode against exact mode on hard pictures, and rotations/mirror images, in one process.

Conformance (``--part fast``): the share of pictures of quality >= 80 whose fast hash is within
10 bits of the exact hash (Meta's conformance bound), on the benign corpus and on a generated set
of fine detail (``ohsc.demo.synth.texture``: noise, stripes, grids, text; JPEG q90 and PNG; sizes
around 512, 1024 and 2048 px), with fast mode's stability check on and off ("before": the check disabled) in the same
process, and the CPU cost of the check (process pinned to one core, CPU seconds).

Dihedral (``--part dihedral``): for every corpus photo and each of its 7 rotations/mirror images,
the distance between the true hash (exact PDQ of the transformed pixels) and (a) the bare-hash
approximation (``pdq_math.approximate_dihedral``, all a hash-only query has), (b) Meta's one-DCT
variants (``pdqhash.compute_dihedral``, what exact mode returned before), (c) exact mode's
variants now, (d) fast mode's variants now.

    .venv/bin/python benchmarks/bench_pdq_conformance.py [--part fast|dihedral|all] [--limit N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, need_corpus, pin_one_core
from ohsc.demo import synth
from ohsc.signals import pdq_math, pdq_pipeline
from ohsc.signals.pdq import PdqSignal, hash_image, hash_source

LIMIT = 10**9
dist = PdqSignal.distance
TRANSFORMS = {
    "rotate90": Image.Transpose.ROTATE_90,
    "rotate180": Image.Transpose.ROTATE_180,
    "rotate270": Image.Transpose.ROTATE_270,
    "flipx": Image.Transpose.FLIP_TOP_BOTTOM,
    "flipy": Image.Transpose.FLIP_LEFT_RIGHT,
    "flipplus1": Image.Transpose.TRANSPOSE,
    "flipminus1": Image.Transpose.TRANSVERSE,
}


#: Around the sizes where JPEG's reduced decoding changes scale (512, 1024, 2048 on the short side).
SIZES = ((512, 512), (513, 700), (1024, 768), (1023, 1500), (1600, 1200), (2048, 1536))


def generated_set(seeds: int) -> list[tuple[str, bytes]]:
    out = []
    for kind in synth.TEXTURES:
        for seed in range(seeds):
            for size in SIZES:
                im = synth.texture(kind, 100 + seed, size)
                for fmt, params in (("JPEG", {"quality": 90}), ("PNG", {})):
                    buf = io.BytesIO()
                    im.save(buf, fmt, **params)
                    out.append((f"{kind}-{seed}-{size[0]}x{size[1]}.{fmt.lower()}", buf.getvalue()))
    return out


class _CountingExact:
    """Stands in for exact mode inside fast mode, counting how often fast mode falls back."""

    def __init__(self) -> None:
        self.fn = pdq_pipeline._exact
        self.calls = 0

    def __call__(self, *args: object) -> object:
        self.calls += 1
        return self.fn(*args)  # type: ignore[arg-type]


def _rate(items: list[bytes], fn: Callable[[bytes], object]) -> float:
    t0 = time.process_time()
    for data in items:
        fn(data)
    return len(items) / (time.process_time() - t0)


def part_fast(photos: list[Path], seeds: int) -> None:
    sets = {
        "corpus photos": [(p.name, p.read_bytes()) for p in photos],
        "generated fine detail": generated_set(seeds),
    }
    check = pdq_pipeline.FAST_CHECK_MAX_BITS
    print(
        "| set | pictures (q>=80) | within 10 bits, before | after | mean / max distance, before | after | exact fallbacks |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, items in sets.items():
        exact = [hash_source(d, max_pixels=LIMIT, mode="exact") for _n, d in items]
        keep = [i for i, e in enumerate(exact) if e.quality >= 80]
        rows = {}
        fallbacks = 0
        for label, bits in (("before", 256), ("after", check)):
            pdq_pipeline.FAST_CHECK_MAX_BITS = bits
            counter = _CountingExact()
            pdq_pipeline._exact = counter  # type: ignore[assignment]
            fast = [hash_source(items[i][1], max_pixels=LIMIT, mode="fast") for i in keep]
            pdq_pipeline._exact = counter.fn
            rows[label] = [dist(exact[i].hex, f.hex) for i, f in zip(keep, fast, strict=True)]
            fallbacks = counter.calls
        pdq_pipeline.FAST_CHECK_MAX_BITS = check
        within = {k: sum(x <= 10 for x in v) / len(v) for k, v in rows.items()}
        print(
            f"| {name} | {len(keep)} | {within['before']:.1%} | **{within['after']:.1%}** | "
            f"{statistics.mean(rows['before']):.2f} / {max(rows['before'])} | "
            f"{statistics.mean(rows['after']):.2f} / {max(rows['after'])} | {fallbacks} ({fallbacks / len(keep):.1%}) |"
        )
        worst = sorted(zip(rows["before"], (items[i][0] for i in keep), strict=True), reverse=True)[:5]
        print("  worst before:", ", ".join(f"{n} {d}" for d, n in worst))
        sweep = []
        for bits in (4, 6, 8, 12, 16):
            pdq_pipeline.FAST_CHECK_MAX_BITS = bits
            counter = _CountingExact()
            pdq_pipeline._exact = counter  # type: ignore[assignment]
            ds = [
                dist(exact[i].hex, hash_source(items[i][1], max_pixels=LIMIT, mode="fast").hex) for i in keep
            ]
            pdq_pipeline._exact = counter.fn
            sweep.append(
                f"{bits}: {sum(d <= 10 for d in ds) / len(ds):.1%} within 10, {counter.calls / len(keep):.1%} exact"
            )
        pdq_pipeline.FAST_CHECK_MAX_BITS = check
        print("  check threshold sweep:", "; ".join(sweep))
    # speed: the corpus, fast mode with and without the check, exact mode
    data = [d for _n, d in sets["corpus photos"]]
    for d in data[:5]:
        hash_source(d, max_pixels=LIMIT, mode="fast")
    rates = {}
    for label, bits in (("fast, no check", 256), ("fast, with check", check)):
        pdq_pipeline.FAST_CHECK_MAX_BITS = bits
        rates[label] = max(
            _rate(data, lambda d: hash_source(d, max_pixels=LIMIT, mode="fast")) for _ in range(2)
        )
    pdq_pipeline.FAST_CHECK_MAX_BITS = check
    rates["exact"] = _rate(data, lambda d: hash_source(d, max_pixels=LIMIT, mode="exact"))
    print("\ncorpus photos per CPU second: " + ", ".join(f"{k} {v:.1f}" for k, v in rates.items()))
    print(
        f"cost of the check: {1 - rates['fast, with check'] / rates['fast, no check']:.1%} of fast mode's rate"
    )


def part_dihedral(photos: list[Path]) -> None:
    found: dict[str, list[int]] = {"bare hash": [], "one DCT (before)": [], "exact now": [], "fast now": []}
    worst: list[tuple[int, str]] = []
    t_exact = t_exact_d = t_fast = t_fast_d = 0.0
    for path in photos:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            rgb = im.convert("RGB")
        arr = np.ascontiguousarray(np.asarray(rgb))
        t0 = time.process_time()
        plain = hash_source(data, max_pixels=LIMIT, mode="exact")
        t1 = time.process_time()
        exact = hash_source(data, max_pixels=LIMIT, mode="exact", dihedral=True)
        t2 = time.process_time()
        hash_source(data, max_pixels=LIMIT, mode="fast")
        t3 = time.process_time()
        fast = hash_source(data, max_pixels=LIMIT, mode="fast", dihedral=True)
        t4 = time.process_time()
        t_exact, t_exact_d, t_fast, t_fast_d = (
            t_exact + t1 - t0,
            t_exact_d + t2 - t1,
            t_fast + t3 - t2,
            t_fast_d + t4 - t3,
        )
        vectors, _q = pdqhash.compute_dihedral(arr)
        one_dct = {
            n: np.packbits(v.astype(np.uint8)).tobytes().hex()
            for n, v in zip(pdq_math.DIHEDRAL_NAMES, vectors, strict=True)
        }
        bare = pdq_math.approximate_dihedral(plain.hex)
        assert exact.dihedral is not None
        assert fast.dihedral is not None
        for name, transform in TRANSFORMS.items():
            true = hash_image(rgb.transpose(transform), mode="exact").hex
            found["bare hash"].append(dist(bare[name], true))
            found["one DCT (before)"].append(dist(one_dct[name], true))
            found["exact now"].append(dist(exact.dihedral[name], true))
            found["fast now"].append(dist(fast.dihedral[name], true))
            worst.append((found["bare hash"][-1], f"{path.name} {name}"))
    print("| variants from | mean | median | p95 | max | within 10 | within 31 |")
    print("|---|---|---|---|---|---|---|")
    for label, ds in found.items():
        a = np.array(ds)
        print(
            f"| {label} | {a.mean():.1f} | {np.median(a):.0f} | {np.percentile(a, 95):.0f} | {a.max()} | "
            f"{(a <= 10).mean():.1%} | {(a <= 31).mean():.1%} |"
        )
    print("bare hash, worst:", ", ".join(f"{n} {d}" for d, n in sorted(worst, reverse=True)[:5]))
    n = len(photos)
    print(
        f"CPU ms per photo: exact {1000 * t_exact / n:.1f}, exact --dihedral {1000 * t_exact_d / n:.1f}, "
        f"fast {1000 * t_fast / n:.1f}, fast --dihedral {1000 * t_fast_d / n:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["fast", "dihedral", "all"], default="all")
    ap.add_argument("--limit", type=int, default=0, help="corpus photos (default: all)")
    ap.add_argument("--seeds", type=int, default=6, help="generated pictures per kind and size")
    args = ap.parse_args()
    pin_one_core()
    photos = need_corpus()
    if args.limit:
        photos = photos[: args.limit]
    print(f"# {machine()}")
    if args.part in ("fast", "all"):
        part_fast(photos, args.seeds)
    if args.part in ("dihedral", "all"):
        print()
        part_dihedral(photos)


if __name__ == "__main__":
    main()
