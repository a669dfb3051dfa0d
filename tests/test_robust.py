"""Robust matching (``ohsc.robust``): each edit that hides a copy from plain PDQ is found, with
how; unrelated benign pictures never match."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from ohsc.demo import synth
from ohsc.errors import InvalidInputError
from ohsc.robust import hashes, postings
from ohsc.robust.descriptor import Query, RobustDescriptor
from ohsc.robust.planes import content_box, read_plane
from ohsc.robust.search import RobustIndex, search
from ohsc.signals.pdq import PdqSignal, hash_source

MAX_PIXELS = 10**8

EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "border 5% black": lambda im: synth.bordered(im, 0.05),
    "border 10% white": lambda im: synth.bordered(im, 0.10, (255, 255, 255)),
    "letterbox": lambda im: synth.boxed(im, im.width / im.height * 0.75),
    "pillarbox": lambda im: synth.boxed(im, im.width / im.height * 1.4),
    "centre crop 5%": lambda im: synth.cropped(im, 0.05, 0.05, 0.05, 0.05),
    "centre crop 10%": lambda im: synth.cropped(im, 0.10, 0.10, 0.10, 0.10),
    "crop 20% of one side": lambda im: synth.cropped(im, right=0.20),
    "caption bar 25%": synth.captioned,
    "caption over": synth.overlaid,
    "rotate +2": lambda im: synth.turned(im, 2),
    "rotate -5": lambda im: synth.turned(im, -5),
    "mirror": synth.mirrored,
    "jpeg q30": lambda im: im,
    "resize 50%": lambda im: synth.resized(im, 0.5),
    "blur": lambda im: synth.blurred(im, 1.5),
    "grey": synth.greyscale,
}
#: Edits plain PDQ misses (checked below, so the test shows what robust matching adds).
PDQ_MISSES = {
    "border 5% black",
    "border 10% white",
    "letterbox",
    "pillarbox",
    "caption bar 25%",
    "crop 20% of one side",
}
SEEDS = (101, 202, 303)
UNRELATED = tuple(range(900, 912))


def jpeg(im: Image.Image, quality: int = 75) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def picture(seed: int) -> Image.Image:
    return synth.picture(seed, (640, 480))


@pytest.fixture(scope="module")
def bank() -> tuple[RobustIndex, dict[int, RobustDescriptor]]:
    index = RobustIndex()
    stored: dict[int, RobustDescriptor] = {}
    for seed in SEEDS + UNRELATED:
        packed = RobustDescriptor.of_source(jpeg(picture(seed), 90), MAX_PIXELS).to_bytes()
        stored[seed] = RobustDescriptor.from_bytes(packed)  # as a bank keeps it
        index.add(seed, *RobustDescriptor.index_of(stored[seed].index_bytes()))
    return index, stored


def find(bank: tuple[RobustIndex, dict[int, RobustDescriptor]], data: bytes) -> list[tuple[int, str, int]]:
    index, stored = bank
    hits = search(index, Query.of_source(data, MAX_PIXELS), lambda ids: {i: stored[i] for i in ids})
    return [(h.entry_id, h.method, h.inliers) for h in hits]


@pytest.mark.parametrize("edit", list(EDITS))
def test_each_edit_is_found_and_says_how(
    edit: str, bank: tuple[RobustIndex, dict[int, RobustDescriptor]]
) -> None:
    for seed in SEEDS:
        data = jpeg(EDITS[edit](picture(seed)), 30 if edit == "jpeg q30" else 75)
        hits = find(bank, data)
        assert [h[0] for h in hits] == [seed], (edit, seed, hits)
        method = hits[0][1]
        assert method in {"pdq-trimmed", "region", "features"}
        if edit in PDQ_MISSES:  # and plain PDQ would not have found it
            q = hash_source(data, max_pixels=MAX_PIXELS, mode="exact", dihedral=True)
            bank_pdq = hash_source(jpeg(picture(seed), 90), max_pixels=MAX_PIXELS, mode="exact").hex
            assert q.dihedral is not None
            assert min(PdqSignal.distance(v, bank_pdq) for v in q.dihedral.values()) > 31


def test_a_bordered_copy_is_found_by_its_trimmed_hash(
    bank: tuple[RobustIndex, dict[int, RobustDescriptor]],
) -> None:
    hits = find(bank, jpeg(synth.bordered(picture(SEEDS[0]), 0.10), 90))
    assert hits and hits[0][:2] == (SEEDS[0], "pdq-trimmed")


def test_a_verified_match_names_the_region_it_covers(
    bank: tuple[RobustIndex, dict[int, RobustDescriptor]],
) -> None:
    index, stored = bank
    data = jpeg(synth.cropped(picture(SEEDS[1]), right=0.4), 90)  # the left 60%
    # beyond the candidate views: every picture is a candidate, features decide
    query = Query.of_source(data, MAX_PIXELS)
    hits = search(index, query, lambda ids: {i: stored[i] for i in ids}, radius=256, max_verify=100)
    assert [(h.entry_id, h.method) for h in hits] == [(SEEDS[1], "features")]
    hit = hits[0]
    assert hit.inliers >= 16 and not hit.mirrored
    x0, y0, x1, y1 = hit.region  # the left 60% of the bank picture
    assert x0 == pytest.approx(0, abs=0.03) and x1 == pytest.approx(0.6, abs=0.03)
    assert y0 == pytest.approx(0, abs=0.03) and y1 == pytest.approx(1, abs=0.03)
    assert hit.to_dict()["region"] == list(hit.region)


def test_unrelated_pictures_never_match(bank: tuple[RobustIndex, dict[int, RobustDescriptor]]) -> None:
    """Every unrelated picture, as it is and edited, finds nothing but itself."""
    for seed in UNRELATED:
        for edit in ("border 10% white", "centre crop 10%", "caption bar 25%", "rotate -5", "mirror"):
            hits = find(bank, jpeg(EDITS[edit](picture(seed))))
            assert {h[0] for h in hits} <= {seed}, (seed, edit, hits)
    for seed in range(5000, 5012):  # pictures the bank never saw
        assert find(bank, jpeg(picture(seed))) == []
        assert find(bank, jpeg(synth.bordered(picture(seed), 0.1))) == []


def test_content_box_trims_borders_of_any_colour() -> None:
    im = picture(7)
    for colour in ((0, 0, 0), (255, 255, 255), (40, 90, 160)):
        plane = read_plane(jpeg(synth.bordered(im, 0.1, colour), 95), MAX_PIXELS)
        box = content_box(plane)
        h, w = plane.shape
        assert box.x0 == pytest.approx(w / 12, abs=3) and box.y0 == pytest.approx(h / 12, abs=3)
        assert w - box.x1 == pytest.approx(w / 12, abs=3) and h - box.y1 == pytest.approx(h / 12, abs=3)
    plain = read_plane(jpeg(im), MAX_PIXELS)
    assert content_box(plain).width == plain.shape[1]


def test_caption_bar_is_seen() -> None:
    plane = read_plane(jpeg(synth.captioned(picture(8))), MAX_PIXELS)
    top, _bottom = hashes.caption_bars(plane)
    assert top == pytest.approx(plane.shape[0] * 0.2, abs=3)


def test_descriptor_round_trip_and_damage() -> None:
    d = RobustDescriptor.of_source(jpeg(picture(9)), MAX_PIXELS)
    packed = d.to_bytes()
    back = RobustDescriptor.from_bytes(packed)
    assert (back.width, back.height, back.box) == (d.width, d.height, d.box)
    assert np.array_equal(back.hashes, d.hashes)
    assert np.array_equal(back.features.descriptors, d.features.descriptors)
    assert np.allclose(back.features.points, d.features.points, atol=1 / 64)
    assert np.array_equal(RobustDescriptor.hashes_of(packed), d.hashes)
    for bad in (packed[:5], packed[:-1], b"\x09" + packed[1:]):
        with pytest.raises(InvalidInputError):
            RobustDescriptor.from_bytes(bad)


def test_index_removes_and_replaces_entries() -> None:
    index = RobustIndex()
    d = RobustDescriptor.of_source(jpeg(picture(11)), MAX_PIXELS)
    index.add(1, d.hashes)
    index.add(2, d.hashes)
    q = Query.of_source(jpeg(picture(11)), MAX_PIXELS)
    assert {c[1] for c in index.candidates(q)} == {1, 2}
    index.remove([1])
    assert {c[1] for c in index.candidates(q)} == {2}
    index.add(2, d.hashes)  # again: replaces, never duplicates
    assert len(index) == 1
    for entry in range(3, 400):  # enough removals to compact: the rest still found
        index.add(entry, d.hashes, d.keys())
    index.remove(range(3, 300))
    assert {c[1] for c in index.candidates(q)} == {2, *range(300, 400)}
    assert {c[3] for c in index.candidates(q)} == {0}  # entry views still counted from each entry's first


def test_a_copy_no_view_brings_near_is_found_by_its_features_keys(
    bank: tuple[RobustIndex, dict[int, RobustDescriptor]],
) -> None:
    """With view candidates off (radius 0), the feature index alone finds a cropped copy (the
    best scored entries are verified), and nothing for pictures the bank never saw."""
    index, stored = bank
    for seed in SEEDS:
        data = jpeg(synth.cropped(picture(seed), 0.1, 0.25, 0.0, 0.0), 80)
        query = Query.of_source(data, MAX_PIXELS)
        assert index.feature_candidates(query)[0][1] == seed
        hits = search(index, query, lambda ids: {i: stored[i] for i in ids}, radius=0)
        assert [(h.entry_id, h.method) for h in hits] == [(seed, "features")]
        assert hits[0].inliers >= 16 and hits[0].distance > 0
    for seed in range(5000, 5012):
        query = Query.of_source(jpeg(picture(seed)), MAX_PIXELS)
        assert search(index, query, lambda ids: {i: stored[i] for i in ids}, radius=0) == []


def test_feature_index_adds_removes_and_merges_incrementally() -> None:
    rng = np.random.default_rng(5)
    features = postings.FeatureIndex()
    descriptors = {e: rng.integers(0, 256, (300, 32), dtype=np.uint8) for e in range(300)}
    for e in range(200):  # one at a time: deltas merged as they grow
        features.add(e, postings.keys(descriptors[e]))
    features.add_many((e, postings.keys(descriptors[e])) for e in range(200, 300))
    assert len(features) == 300 and features.postings == sum(
        len(postings.keys(d)) for d in descriptors.values()
    )
    for e in (0, 150, 299):
        assert features.scores(postings.keys(descriptors[e], None), 1)[0][1] == e
    features.remove([150])
    assert 150 not in {e for _, e in features.scores(postings.keys(descriptors[150], None), 300)}
    features.remove(range(100))  # past a quarter dead: merged and renumbered
    assert len(features) == 199
    assert features.scores(postings.keys(descriptors[299], None), 1)[0][1] == 299
    features.add(299, postings.keys(descriptors[7]))  # added again: the new keys replace the old
    assert features.scores(postings.keys(descriptors[7], None), 1)[0][1] == 299
    assert features.scores(np.zeros(0, np.uint32), 3) == []


def test_index_rows_round_trip_and_old_rows_without_keys() -> None:
    d = RobustDescriptor.of_source(jpeg(picture(12)), MAX_PIXELS)
    views, keys = RobustDescriptor.index_of(d.index_bytes())
    assert np.array_equal(views, d.hashes) and keys is not None and np.array_equal(keys, d.keys())
    views, keys = RobustDescriptor.index_of(d.hashes.tobytes())  # stored before the feature index
    assert np.array_equal(views, d.hashes) and keys is None
    with pytest.raises(InvalidInputError):
        RobustDescriptor.index_of(d.hashes.tobytes()[:-1])


def test_a_candidate_search_uses_one_openmp_thread() -> None:
    """faiss would otherwise search with a team as wide as the machine, whose other threads only
    spin on a single query (ohsc.index.threads): robust queries cost 45 ms instead of ~15 on the
    loaded 2-core machine. The search runs in a fresh thread, as a server's request would."""
    import threading

    import faiss

    index = RobustIndex()
    d = RobustDescriptor.of_source(jpeg(picture(13)), MAX_PIXELS)
    index.add(1, d.hashes, d.keys())
    query = Query.of_source(jpeg(picture(13)), MAX_PIXELS)
    seen: list[int] = []

    def run() -> None:
        faiss.omp_set_num_threads(4)  # what a fresh thread may have
        assert index.candidates(query)
        seen.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert seen == [1]
