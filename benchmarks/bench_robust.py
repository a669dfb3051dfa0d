"""Robust matching vs plain PDQ: recall per edit, false matches among unrelated pictures, cost.

Bank: the corpus photos (and generated pictures with ``--generated N``), each described as a
robust bank describes it (``RobustDescriptor``) and hashed with exact PDQ. Queries: every bank
picture after each edit (JPEG q75 after the edit). Plain PDQ finds a copy when one of the query's
8 dihedral hashes is within 31 of the picture's PDQ; robust matching when the two-stage search
(``ohsc.robust.search``) returns it. False matches: every query searched against every *other*
picture (all pairs of distinct pictures, for every edit), and the originals against each other.
Cost: per-picture CPU time of a robust query (decode + views + search incl. verification)
against plain PDQ (fast mode, dihedral) in the same run. Scale: a 100k-entry candidate index
(the bank's view hashes repeated with random bits, plus the real ones) answering one query.

    .venv/bin/python benchmarks/bench_robust.py            # all corpus photos
    .venv/bin/python benchmarks/bench_robust.py --limit 60 --generated 40
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, machine, need_corpus, pin_one_core
from ohsc.demo import synth
from ohsc.robust import postings
from ohsc.robust import search as rsearch
from ohsc.robust.descriptor import Query, RobustDescriptor
from ohsc.robust.search import RobustIndex
from ohsc.signals.pdq import PdqSignal, hash_source

Edit = Callable[[Image.Image], Image.Image]

EDITS: dict[str, Edit] = {
    "border 5% black": lambda im: synth.bordered(im, 0.05),
    "border 10% black": lambda im: synth.bordered(im, 0.10),
    "border 5% white": lambda im: synth.bordered(im, 0.05, (255, 255, 255)),
    "border 10% white": lambda im: synth.bordered(im, 0.10, (255, 255, 255)),
    "letterbox": lambda im: synth.boxed(im, max(im.width / im.height, 1.0) * 0.75),
    "pillarbox": lambda im: synth.boxed(im, max(im.width / im.height, 1.0) * 1.4),
    "centre crop 5%": lambda im: synth.cropped(im, 0.05, 0.05, 0.05, 0.05),
    "centre crop 10%": lambda im: synth.cropped(im, 0.10, 0.10, 0.10, 0.10),
    "crop 20% right": lambda im: synth.cropped(im, right=0.20),
    "crop 20% top": lambda im: synth.cropped(im, top=0.20),
    "caption bar 25%": synth.captioned,
    "caption over": synth.overlaid,
    "rotate +2": lambda im: synth.turned(im, 2),
    "rotate -2": lambda im: synth.turned(im, -2),
    "rotate +5": lambda im: synth.turned(im, 5),
    "rotate -5": lambda im: synth.turned(im, -5),
    "mirror": synth.mirrored,
    "jpeg q30": lambda im: im,  # saved at q30 below
    "resize 50%": lambda im: synth.resized(im, 0.5),
    "blur": lambda im: synth.blurred(im, 1.5),
    "grey": synth.greyscale,
}
MILD = {"jpeg q30", "resize 50%", "blur", "grey"}


def jpeg(im: Image.Image, quality: int = 75) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def pictures(limit: int | None, generated: int, side: int = 0) -> list[tuple[str, Image.Image]]:
    out = []
    for p in need_corpus()[:limit]:
        with Image.open(p) as im:
            rgb = im.convert("RGB")
        if side:
            rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
        out.append((p.name, rgb))
    for seed in range(generated):
        out.append((f"synth-{seed}", synth.picture(10_000 + seed, (640, 480))))
    return out


def pdq_found(query: bytes, bank_hash: str) -> bool:
    h = hash_source(query, max_pixels=10**9, mode="fast", dihedral=True)
    variants = h.dihedral or {"original": h.hex}
    return min(PdqSignal.distance(v, bank_hash) for v in variants.values()) <= 31


def run(args: argparse.Namespace) -> dict[str, object]:
    pics = pictures(args.limit, args.generated, args.side)
    n = len(pics)
    print(f"{n} pictures; {machine()}", flush=True)
    descriptors: dict[int, RobustDescriptor] = {}
    pdq: dict[int, str] = {}
    index = RobustIndex()
    t0 = time.process_time()
    for i, (_, im) in enumerate(pics):
        data = jpeg(im, 90)
        d = RobustDescriptor.from_bytes(RobustDescriptor.of_source(data, 10**9).to_bytes())
        descriptors[i] = d
        index.add(i, d.hashes, d.keys())
        pdq[i] = hash_source(data, max_pixels=10**9, mode="exact").hex
    index_ms = (time.process_time() - t0) / n * 1000
    sizes = [len(RobustDescriptor.to_bytes(d)) for d in descriptors.values()]

    def load(ids: list[int]) -> dict[int, RobustDescriptor]:
        return {i: descriptors[i] for i in ids}

    recall: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    methods: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    false_matches: list[tuple[str, str, str, int]] = []
    closest_unrelated_distance = 256
    most_unrelated_inliers = 0
    unrelated_verified = 0
    pairs = 0
    pdq_cpu = robust_cpu = 0.0
    queries = 0
    chosen = [e.strip() for e in args.edits.split(",")] if args.edits else list(EDITS)
    for name in chosen:
        edit = EDITS[name]
        for i, (_, im) in enumerate(pics):
            data = jpeg(edit(im), 30 if name == "jpeg q30" else 75)
            t = time.process_time()
            found_pdq = pdq_found(data, pdq[i])
            pdq_cpu += time.process_time() - t
            t = time.process_time()
            q = Query.of_source(data, 10**9)
            hits = rsearch.search(index, q, load)
            robust_cpu += time.process_time() - t
            queries += 1
            hit = next((h for h in hits if h.entry_id == i), None)
            recall[name]["pdq"] += found_pdq
            recall[name]["robust"] += hit is not None or found_pdq  # robust banks keep plain PDQ too
            if hit is not None:
                methods[name][hit.method] += 1
            for h in hits:
                if h.entry_id != i:
                    false_matches.append((name, pics[i][0], pics[h.entry_id][0], h.inliers))
            # unrelated pairs: all other pictures, exhaustively (views and features)
            for dist, entry, _, _ in index.candidates(q, radius=256):
                if entry == i:
                    continue
                pairs += 1
                closest_unrelated_distance = min(closest_unrelated_distance, dist)
            if args.exhaustive:
                for j in range(n):
                    if j == i:
                        continue
                    d = descriptors[j]
                    mirrored = False
                    v = rsearch.verify(q.features(mirrored), q.box, d.features, (d.width, d.height), 4)
                    unrelated_verified += 1
                    if v is not None:
                        most_unrelated_inliers = max(most_unrelated_inliers, v.inliers)
        r = recall[name]
        print(
            f"{name:18s} pdq {r['pdq'] / n:6.1%}  robust {r['robust'] / n:6.1%}  {dict(methods[name])}",
            flush=True,
        )
    result = {
        "pictures": n,
        "machine": machine(),
        "recall": {k: {m: v / n for m, v in r.items()} for k, r in recall.items()},
        "methods": {k: dict(v) for k, v in methods.items()},
        "false_matches": false_matches,
        "unrelated_pairs": pairs,
        "closest_unrelated_view_distance": closest_unrelated_distance,
        "unrelated_feature_checks": unrelated_verified,
        "most_unrelated_inliers": most_unrelated_inliers,
        "query_ms_pdq": pdq_cpu / queries * 1000,
        "query_ms_robust": robust_cpu / queries * 1000,
        "query_cost_ratio": robust_cpu / pdq_cpu,
        "index_ms_per_picture": index_ms,
        "descriptor_bytes_mean": float(np.mean(sizes)),
    }
    print(
        json.dumps({k: v for k, v in result.items() if k not in ("recall", "methods")}, indent=1), flush=True
    )
    return result


def cost(limit: int) -> dict[str, float]:
    """CPU per query at full size (the corpus as it is): plain PDQ (fast mode, dihedral) vs robust
    (decode, views, search incl. verification) on a copy in the bank (bordered, cropped) and on a
    picture not in it, in a bank of the other photos."""
    pics = pictures(limit, 0)
    half = len(pics) // 2
    bank = {i: RobustDescriptor.of_source(jpeg(im, 90), 10**9) for i, (_, im) in enumerate(pics[:half])}
    index = RobustIndex()
    for i, d in bank.items():
        index.add(i, d.hashes, d.keys())
    sets = {
        "copy (border 5%)": [jpeg(synth.bordered(im, 0.05)) for _, im in pics[:half]],
        "copy (crop 10%)": [jpeg(synth.cropped(im, 0.1, 0.1, 0.1, 0.1)) for _, im in pics[:half]],
        "not in bank": [jpeg(im) for _, im in pics[half:]],
    }
    out: dict[str, float] = {}
    for name, queries in sets.items():
        t = time.process_time()
        for data in queries:
            hash_source(data, max_pixels=10**9, mode="fast", dihedral=True)
        pdq_s = time.process_time() - t
        t = time.process_time()
        for data in queries:
            rsearch.search(index, Query.of_source(data, 10**9), lambda ids: {i: bank[i] for i in ids})
        robust_s = time.process_time() - t
        n = len(queries)
        out[name] = robust_s / pdq_s
        print(
            f"cost {name:18s}: PDQ {pdq_s / n * 1000:.1f} ms, robust {robust_s / n * 1000:.1f} ms, ratio {robust_s / pdq_s:.2f}x",
            flush=True,
        )
    return out


def scale(entries: int, pics_limit: int) -> dict[str, float]:
    """One query against a candidate index of ``entries`` robust entries."""
    rng = np.random.default_rng(7)
    pics = pictures(pics_limit, 0)
    real = [RobustDescriptor.of_source(jpeg(im, 90), 10**9) for _, im in pics]
    index = RobustIndex()
    t = time.perf_counter()
    filler = rng.integers(0, 256, size=(entries - len(real), len(real[0].hashes), 32), dtype=np.uint8)
    # the features' keys of filler entries: random descriptors of as many features as a photo keeps
    n_keys = int(np.mean([len(d.keys()) for d in real]))
    table = np.arange(postings.TABLES, dtype=np.uint32) << np.uint32(postings.KEY_BITS)
    random_keys = rng.integers(0, 1 << postings.KEY_BITS, size=(len(filler), n_keys), dtype=np.uint32)
    random_keys |= table[np.arange(n_keys) % postings.TABLES]
    index.add_many((k + len(real), filler[k], np.unique(random_keys[k])) for k in range(len(filler)))
    index.add_many((k, d.hashes, d.keys()) for k, d in enumerate(real))
    assert len(index) == entries
    build_s = time.perf_counter() - t
    queries = [Query.of_source(jpeg(synth.cropped(im, 0.1, 0.1, 0.1, 0.1)), 10**9) for _, im in pics]
    descriptors = dict(enumerate(real))
    t = time.process_time()
    found = 0
    for k, q in enumerate(queries):
        hits = rsearch.search(index, q, lambda ids: {i: descriptors[i] for i in ids if i in descriptors})
        found += any(h.entry_id == k for h in hits)
    per_query = (time.process_time() - t) / len(queries) * 1000
    memory = index.nbytes()
    print(
        f"{entries} entries: search {per_query:.1f} ms/query (CPU, one core; after decode), "
        f"found {found}/{len(queries)}, candidate index {memory / entries:.0f} bytes/entry, built in {build_s:.1f}s"
    )
    return {"entries": entries, "search_ms": per_query, "bytes_per_entry": memory / entries}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="corpus photos to use (default all)")
    ap.add_argument("--generated", type=int, default=40, help="generated pictures to add")
    ap.add_argument("--exhaustive", action="store_true", help="also verify features on every unrelated pair")
    ap.add_argument("--scale", type=int, default=100_000, help="entries of the scale test (0: skip)")
    ap.add_argument("--side", type=int, default=800, help="recall pass: photos shrunk to this longest side")
    ap.add_argument("--cost", type=int, default=40, help="full-size photos of the cost pass (0: skip)")
    ap.add_argument("--edits", default="", help="comma-separated edits of the recall pass (default all)")
    ap.add_argument("--no-recall", action="store_true", help="only the cost and scale passes")
    ap.add_argument("--out", default="robust.json", help="file name under benchmarks/results/")
    args = ap.parse_args()
    pin_one_core()
    result: dict[str, object] = {} if args.no_recall else run(args)
    if args.cost:
        result["cost"] = cost(args.cost)
    if args.scale:
        result["scale"] = scale(args.scale, 20)
    out = REPO / "benchmarks" / "results" / args.out
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
