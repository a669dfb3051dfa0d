"""Video against video: shares of matched frames both ways, and the matched time ranges.

As in Meta's vPDQ matching, frames below the quality floor are left out and identical hashes
count once; a query frame *matches* a bank video when one of the bank video's frames lies within
the bank's PDQ threshold, and the other way round. Then

* ``query_percent``: the share of the query's distinct frames that match the bank video;
* ``bank_percent``: the share of the bank video's distinct frames that match the query.

Two videos match when the share named by ``OHSC_VPDQ_MATCH_MODE`` reaches
``OHSC_VPDQ_MATCH_PERCENT`` (default: *either* share reaches 80%, so a 20-second clip is found
inside a 20-minute video, and a 20-minute video that contains a known clip is found too).

``segments`` say where: runs of matched query frames whose bank-side times advance in step
(the same offset, within a few sampling intervals), each as a query time range and the bank
time range it corresponds to.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ohsc.index.vpdq_index import IndexedVideo, distinct_codes
from ohsc.settings import Settings
from ohsc.signals.vpdq_frames import FrameArrays, VpdqFrame

MatchMode = Literal["either", "both", "query", "bank"]
#: Most segments reported per matched video.
MAX_SEGMENTS = 20


@dataclass(frozen=True, slots=True)
class VideoRules:
    quality_min: int = 50
    match_percent: float = 80.0
    mode: MatchMode = "either"

    @classmethod
    def from_settings(cls, settings: Settings) -> VideoRules:
        return cls(settings.vpdq_quality_min, settings.vpdq_match_percent, settings.vpdq_match_mode)

    def passes(self, query_percent: float, bank_percent: float) -> bool:
        q = query_percent >= self.match_percent - 1e-9
        b = bank_percent >= self.match_percent - 1e-9
        return {"either": q or b, "both": q and b, "query": q, "bank": b}[self.mode]


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the query matching a stretch of the bank video (seconds)."""

    query_start: float
    query_end: float
    bank_start: float
    bank_end: float
    frames: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "query_start": round(self.query_start, 3),
            "query_end": round(self.query_end, 3),
            "bank_start": round(self.bank_start, 3),
            "bank_end": round(self.bank_end, 3),
            "frames": self.frames,
        }


@dataclass(frozen=True, slots=True)
class VideoMatchInfo:
    query_percent: float
    bank_percent: float
    #: distinct frames (of quality) on each side, and how many of them matched
    query_frames: int
    bank_frames: int
    query_matched: int
    bank_matched: int
    segments: tuple[Segment, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query_percent": round(self.query_percent, 1),
            "bank_percent": round(self.bank_percent, 1),
            "query_frames": self.query_frames,
            "bank_frames": self.bank_frames,
            "query_matched": self.query_matched,
            "bank_matched": self.bank_matched,
            "segments": [s.to_dict() for s in self.segments],
        }


@dataclass(frozen=True, slots=True)
class QueryVideo:
    """The query's frames, prepared: distinct hashes of quality, and every frame's slot."""

    slots: int  # distinct usable hashes
    codes: list[str]  # hex of each slot's hash, then of the slots' variants
    owners: list[int]  # the slot of each code
    ms: npt.NDArray[np.int64]  # every frame's time
    slot: npt.NDArray[np.int64]  # every frame's distinct-hash slot, -1 below the quality floor
    frames: int  # number of frames given

    @classmethod
    def build(cls, frames: Sequence[VpdqFrame] | FrameArrays, quality_min: int) -> QueryVideo:
        arrays = frames if isinstance(frames, FrameArrays) else FrameArrays.from_frames(frames)
        usable = np.flatnonzero(arrays.quality >= quality_min)
        slot = np.full(len(arrays), -1, dtype=np.int64)
        first, inner = distinct_codes(arrays.codes[usable])
        slot[usable] = inner
        raw = arrays.codes[usable][first].tobytes().hex()
        codes = [raw[64 * i : 64 * (i + 1)] for i in range(len(first))]
        owners = list(range(len(first)))
        if arrays.has_variants:
            for s, i in enumerate(usable[first].tolist()):
                extra = arrays.variants(i).tobytes().hex()
                for k in range(len(extra) // 64):
                    codes.append(extra[64 * k : 64 * (k + 1)])
                    owners.append(s)
        return cls(len(first), codes, owners, arrays.ms.astype(np.int64), slot, len(arrays))

    @property
    def low_quality(self) -> bool:
        return self.frames > 0 and not self.slots


def _interval_ms(ms: npt.NDArray[np.int64]) -> float:
    if len(ms) < 2:
        return 1000.0
    steps = np.diff(np.unique(ms))
    return float(np.median(steps)) if len(steps) else 1000.0


def score(
    query: QueryVideo,
    video: IndexedVideo,
    pairs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
    threshold: int,
    rules: VideoRules,
) -> VideoMatchInfo | None:
    """The match of ``query`` with one bank ``video`` from the frame pairs the index found
    (query slot, bank slot, distance); None when it does not reach the rules."""
    q_slots, b_slots, dist = pairs
    usable_bank = video.slot_quality >= rules.quality_min
    keep = (dist <= threshold) & usable_bank[b_slots]
    q_slots, b_slots, dist = q_slots[keep], b_slots[keep], dist[keep]
    query_total = query.slots
    bank_total = int(usable_bank.sum())
    if not len(dist) or not query_total or not bank_total:
        return None
    query_matched = len(np.unique(q_slots))
    bank_matched = len(np.unique(b_slots))
    qp = 100.0 * query_matched / query_total
    bp = 100.0 * bank_matched / bank_total
    if not rules.passes(qp, bp):
        return None
    return VideoMatchInfo(
        qp, bp, query_total, bank_total, query_matched, bank_matched, segments(query, video, q_slots, b_slots)
    )


def segments(
    query: QueryVideo,
    video: IndexedVideo,
    q_slots: npt.NDArray[np.int64],
    b_slots: npt.NDArray[np.int64],
) -> tuple[Segment, ...]:
    """Chain matched frames into stretches where bank time advances with query time."""
    bank_times: dict[int, list[int]] = {}
    for b in np.unique(b_slots).tolist():
        bank_times[b] = video.ms[video.slot == b].tolist()
    partners: dict[int, list[int]] = {}
    for q, b in zip(q_slots.tolist(), b_slots.tolist(), strict=True):
        partners.setdefault(q, []).extend(bank_times[b])
    for q in partners:
        partners[q] = sorted(set(partners[q]))
    step = max(_interval_ms(query.ms), _interval_ms(video.ms))
    tolerance = 3 * step
    # open segments: [query start, query end, bank start, bank end, offset, frames]
    active: list[list[int]] = []
    done: list[list[int]] = []
    for t, slot in zip(query.ms.tolist(), query.slot.tolist(), strict=True):
        times = partners.get(slot) if slot >= 0 else None
        if not times:
            continue
        for seg in [s for s in active if t - s[1] > tolerance]:
            active.remove(seg)
            done.append(seg)
        extended = False
        for seg in active:
            expected = t + seg[4]
            i = bisect.bisect_left(times, expected - tolerance)
            if i < len(times) and times[i] <= expected + tolerance:
                best = min(
                    times[i : bisect.bisect_right(times, expected + tolerance)],
                    key=lambda x: abs(x - expected),
                )
                seg[1], seg[3], seg[5] = t, max(seg[3], best), seg[5] + 1
                seg[2] = min(seg[2], best)
                extended = True
        if not extended:
            first = times[0]
            active.append([t, t, first, first, first - t, 1])
    done.extend(active)
    done.sort(key=lambda s: (-s[5], s[0]))
    kept = sorted(done[:MAX_SEGMENTS], key=lambda s: s[0])
    return tuple(Segment(s[0] / 1000, s[1] / 1000, s[2] / 1000, s[3] / 1000, s[5]) for s in kept)
