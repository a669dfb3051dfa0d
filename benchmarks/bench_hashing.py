"""PDQ hashing speed per core: OHSC fast and exact modes vs the reference pipeline.

The reference is python-threatexchange's ``pdq_from_file``: Pillow decodes the JPEG at full
resolution, numpy array, ``pdqhash.compute`` (Meta's C++), hex via a bit string. Run on the
benign corpus photos (1-2 MP) and on upscaled copies at 4, 8 and 12 MP, all in one process
pinned to one core. Also reports Pillow's decode alone and the distance of fast mode from exact.

    .venv/bin/python benchmarks/bench_hashing.py [--limit N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, need_corpus, pin_one_core
from ohsc.signals.pdq import PdqSignal, hash_source

LIMIT = 10**9


def reference_pdq(path: Path) -> tuple[str, int]:
    """python-threatexchange: _pdq_from_image -> _pdq_from_numpy_array (bit string to hex)."""
    image = Image.open(path)
    if image.mode == "LA":
        image = image.convert("RGB")
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.concatenate([array[..., np.newaxis]] * 3, axis=2)
    hash_vector, quality = pdqhash.compute(array)
    bin_str = "".join([str(x) for x in hash_vector])
    hex_str = ("%0*X" % ((len(bin_str) + 3) // 4, int(bin_str, 2))).lower()  # noqa: UP031
    return hex_str, int(quality)


def decode_only(path: Path) -> None:
    with Image.open(path) as im:
        im.load()


def make_sets(photos: list[Path], tmp: Path, per_set: int) -> dict[str, list[Path]]:
    sets: dict[str, list[Path]] = {"corpus (1-2 MP)": photos}
    for mp in (4, 8, 12):
        out = []
        for i, src in enumerate(photos[:per_set]):
            with Image.open(src) as im:
                scale = (mp * 1e6 / (im.width * im.height)) ** 0.5
                big = im.convert("RGB").resize(
                    (round(im.width * scale), round(im.height * scale)), Image.Resampling.BICUBIC
                )
            path = tmp / f"{mp}mp-{i:03d}.jpg"
            big.save(path, "JPEG", quality=90)
            out.append(path)
        sets[f"{mp} MP"] = out
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=0, help="photos from the corpus (default: all)")
    parser.add_argument("--per-set", type=int, default=25, help="photos per upscaled set")
    args = parser.parse_args()
    pin_one_core()
    photos = need_corpus()
    if args.limit:
        photos = photos[: args.limit]
    print(f"# PDQ hashing, photos per CPU-second of one core: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        sets = make_sets(photos, Path(tmp), args.per_set)
        # warm up (page cache, numba-free paths, operator caches are per size so not warmed)
        for p in photos[:3]:
            reference_pdq(p)
            hash_source(p, max_pixels=LIMIT, mode="fast")
        print(
            "| set | photos | reference photos/s | decode-only photos/s | exact photos/s | fast photos/s | fast / reference | fast-vs-exact distance mean / p99 / max | q>=80 within 10 |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        all_d: list[int] = []
        for name, paths in sets.items():
            rates = {}
            results = {}
            for label, fn in (
                ("reference", reference_pdq),
                ("decode", decode_only),
                ("exact", lambda p: hash_source(p, max_pixels=LIMIT, mode="exact")),
                ("fast", lambda p: hash_source(p, max_pixels=LIMIT, mode="fast")),
            ):
                t0 = time.process_time()  # CPU seconds of this one-core process: robust to a busy machine
                results[label] = [fn(p) for p in paths]
                rates[label] = len(paths) / (time.process_time() - t0)
            ref = results["reference"]
            assert all(r[0] == e.hex for r, e in zip(ref, results["exact"], strict=True)), (
                "exact != reference"
            )
            d = [
                PdqSignal.distance(e.hex, f.hex)
                for e, f in zip(results["exact"], results["fast"], strict=True)
            ]
            q = [e.quality for e in results["exact"]]
            dq = [x for x, qq in zip(d, q, strict=True) if qq >= 80]
            all_d.extend(dq)
            within = sum(x <= 10 for x in dq) / max(1, len(dq))
            print(
                f"| {name} | {len(paths)} | {rates['reference']:.1f} | {rates['decode']:.1f} | {rates['exact']:.1f} | "
                f"{rates['fast']:.1f} | **{rates['fast'] / rates['reference']:.1f}x** | "
                f"{statistics.mean(d):.2f} / {np.percentile(d, 99):.0f} / {max(d)} | {within:.1%} |"
            )
        hist = np.bincount(all_d)
        print("\nfast-vs-exact distance histogram (quality >= 80, all sets):")
        print(", ".join(f"{i}: {n}" for i, n in enumerate(hist) if n))


if __name__ == "__main__":
    main()
