"""The vPDQ index and scoring against brute force (Meta's matchTwoHashBrute semantics), with
adds, removals, compaction and index files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ohsc.index.persist import read_index, write_index
from ohsc.index.vpdq_index import VpdqIndex
from ohsc.matching.video_rules import QueryVideo, VideoRules, score
from ohsc.signals.vpdq_frames import FrameArrays, VpdqFrame


def _flip(rng: np.random.Generator, code: bytes, bits: int) -> str:
    b = bytearray(code)
    for bit in rng.choice(256, bits, replace=False):
        b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b).hex()


def _videos(seed: int = 3, n: int = 12) -> list[list[VpdqFrame]]:
    """Videos sharing scenes: frames are near copies of a few dozen base codes."""
    rng = np.random.default_rng(seed)
    scenes = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(40)]
    videos = []
    for _ in range(n):
        frames = []
        for k in range(int(rng.integers(3, 25))):
            scene = scenes[int(rng.integers(0, len(scenes)))]
            quality = int(rng.choice([100, 90, 40]))
            frames.append(VpdqFrame(k * 30, float(k), _flip(rng, scene, int(rng.integers(0, 40))), quality))
        frames.append(frames[0])  # a repeated frame counts once
        videos.append(frames)
    return videos


def _brute(query: list[VpdqFrame], bank: list[VpdqFrame], distance: int, quality: int) -> tuple[float, float]:
    def usable(frames: list[VpdqFrame]) -> list[str]:
        return list(dict.fromkeys(f.pdq for f in frames if f.quality >= quality))

    def d(a: str, b: str) -> int:
        return (int(a, 16) ^ int(b, 16)).bit_count()

    q, b = usable(query), usable(bank)
    if not q or not b:
        return 0.0, 0.0
    qm = sum(any(d(x, y) <= distance for y in b) for x in q)
    bm = sum(any(d(y, x) <= distance for x in q) for y in b)
    return 100 * qm / len(q), 100 * bm / len(b)


def _index(videos: list[list[VpdqFrame]]) -> VpdqIndex:
    idx = VpdqIndex()
    for i, frames in enumerate(videos):
        idx.add_frames(100 + i, FrameArrays.from_frames(frames))
    return idx


def _scores(idx: VpdqIndex, query: list[VpdqFrame], distance: int) -> dict[int, tuple[float, float]]:
    rules = VideoRules(quality_min=50, match_percent=1e-9, mode="either")
    q = QueryVideo.build(query, rules.quality_min)
    out = {}
    for entry, pairs in idx.search(q.codes, distance, q.owners).items():
        video = idx.video(entry)
        assert video is not None
        info = score(q, video, pairs, distance, rules)
        if info is not None:
            out[entry] = (round(info.query_percent, 6), round(info.bank_percent, 6))
    return out


def _expected(
    videos: list[list[VpdqFrame]], query: list[VpdqFrame], distance: int, live: set[int]
) -> dict[int, tuple[float, float]]:
    out = {}
    for i, frames in enumerate(videos):
        if 100 + i in live:
            qp, bp = _brute(query, frames, distance, 50)
            if qp > 0 or bp > 0:
                out[100 + i] = (round(qp, 6), round(bp, 6))
    return out


@pytest.mark.parametrize("distance", [0, 10, 31, 45])
def test_shares_both_ways_equal_brute_force(distance: int, tmp_path: Path) -> None:
    videos = _videos()
    idx = _index(videos)
    live = {100 + i for i in range(len(videos))}
    for query in videos[:6]:
        assert _scores(idx, query, distance) == _expected(videos, query, distance, live)
    idx.remove([100, 103, 999])
    live -= {100, 103}
    assert len(idx) == len(videos) - 2
    for query in videos[:6]:
        assert _scores(idx, query, distance) == _expected(videos, query, distance, live)
    idx.add_frames(103, FrameArrays.from_frames(videos[3]))  # restored
    live.add(103)
    idx.compact()
    params, arrays = idx.to_arrays()
    write_index(
        tmp_path / "v.ohscidx", kind=idx.kind, signal_type="vpdq", params=params, meta={}, arrays=arrays
    )
    f = read_index(tmp_path / "v.ohscidx")
    loaded = VpdqIndex.from_arrays("vpdq", f.params, f.arrays)
    for query in videos[:6]:
        assert _scores(loaded, query, distance) == _expected(videos, query, distance, live)


def test_query_lists_videos_sharing_a_frame() -> None:
    videos = _videos()
    idx = _index(videos)
    text = ";".join(f"{f.frame},{f.quality},{f.pdq},{f.timestamp:.3f}" for f in videos[2])
    hits = idx.query(text, 0)
    assert hits[0].distance == 0
    assert 102 in {h.label for h in hits}
