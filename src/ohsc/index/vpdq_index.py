"""The vPDQ index: every bank video's distinct frame hashes in one PDQ index.

Frame hashes go into a :class:`~ohsc.index.pdq_index.PdqIndex` (faiss flat plus multi-index
hashing, exact range search, incremental adds and removals) under the label
``entry_id << 20 | slot``, where ``slot`` numbers the video's *distinct* hashes (identical
frames, a still scene, count once, as in python-threatexchange). Next to it the index keeps, per
video, each frame's time and slot and each slot's quality: what the matcher needs to compute the
share of frames matched on both sides and the matched time ranges.

Entries arrive from :class:`~ohsc.index.manager.IndexSet` as (entry id, vPDQ id); the frames
are read from the store the index set attaches (:meth:`VpdqIndex.attach`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ohsc.index.base import IndexHit, SignalIndex
from ohsc.index.pdq_index import PdqIndex
from ohsc.signals.vpdq_frames import MAX_FRAMES, FrameArrays, is_vpdq_id, parse_vpdq

if TYPE_CHECKING:
    from ohsc.store.db import Store

log = logging.getLogger(__name__)

SLOT_BITS = 20
SLOT_MASK = (1 << SLOT_BITS) - 1
assert MAX_FRAMES <= 1 << SLOT_BITS

Int64s = npt.NDArray[np.int64]


def distinct_codes(codes: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(index of each distinct code's first frame, slot of every frame), slots in frame order."""
    if len(codes) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = np.ascontiguousarray(codes).view(np.dtype((np.void, 32))).reshape(-1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order].astype(np.int64), rank[inverse.reshape(-1)].astype(np.int64)


@dataclass(frozen=True, slots=True)
class IndexedVideo:
    """What the matcher needs of a bank video besides its hashes."""

    ms: Int64s  # time of each frame
    slot: Int64s  # distinct-hash slot of each frame
    slot_quality: npt.NDArray[np.uint8]  # best quality of each slot's frames

    @property
    def slots(self) -> int:
        return len(self.slot_quality)

    @classmethod
    def build(cls, frames: FrameArrays) -> tuple[IndexedVideo, npt.NDArray[np.uint8], Int64s]:
        """The video, and the codes to index with the slot of each: every slot's own hash, then
        the variant hashes of its first frame."""
        first, slot = distinct_codes(frames.codes)
        quality = np.zeros(len(first), np.uint8)
        np.maximum.at(quality, slot, frames.quality)
        codes = [frames.codes[first]]
        slots = [np.arange(len(first), dtype=np.int64)]
        if frames.has_variants:
            for s, i in enumerate(first.tolist()):
                extra = frames.variants(i)
                if len(extra):
                    codes.append(extra)
                    slots.append(np.full(len(extra), s, dtype=np.int64))
        video = cls(frames.ms.astype(np.int64), slot, quality)
        return video, np.concatenate(codes), np.concatenate(slots)


def _hexes(codes: npt.NDArray[np.uint8]) -> list[str]:
    raw = codes.tobytes().hex()
    return [raw[64 * i : 64 * (i + 1)] for i in range(len(codes))]


class VpdqIndex(SignalIndex):
    """Bank videos by their frames. Thread-safe like :class:`PdqIndex`."""

    kind = "vpdq"

    def __init__(self, signal_type: str = "vpdq") -> None:
        super().__init__(signal_type)
        self.frames = PdqIndex(signal_type)
        self.videos: dict[int, IndexedVideo] = {}
        self._loader: Callable[[Sequence[str]], dict[str, FrameArrays]] | None = None
        self._lock = threading.RLock()

    def attach(self, store: Store) -> None:
        from ohsc.signals.vpdq_store import load_frames

        def load(refs: Sequence[str]) -> dict[str, FrameArrays]:
            with store.session() as s:
                return load_frames(s, refs)

        self._loader = load

    # --- changes -------------------------------------------------------------------------------

    def add(self, labels: Sequence[int], values: Sequence[str]) -> None:
        """Add bank entries (labels) by vPDQ id; ids whose frames cannot be read are logged, skipped."""
        wanted: list[tuple[int, str]] = []
        for label, value in zip(labels, values, strict=True):
            ref = str(value).strip().lower()
            if is_vpdq_id(ref):
                wanted.append((int(label), ref))
            else:
                log.warning("entry %d: vpdq value is not a vPDQ id; skipped by the index", int(label))
        if not wanted:
            return
        if self._loader is None:
            raise RuntimeError("the vPDQ index reads frames from the store: attach() it first")
        loaded = self._loader([ref for _, ref in wanted])
        for label, ref in wanted:
            frames = loaded.get(ref)
            if frames is None or len(frames) == 0:
                log.warning("entry %d: the store has no frames for %s; skipped by the index", label, ref)
                continue
            self.add_frames(label, frames)

    def add_frames(self, entry_id: int, frames: FrameArrays) -> None:
        video, codes, slots = IndexedVideo.build(frames)
        labels = (np.int64(entry_id) << SLOT_BITS) | slots
        with self._lock:
            self.videos[entry_id] = video
            self.frames.add(labels.tolist(), _hexes(codes))

    def remove(self, labels: Iterable[int]) -> None:
        with self._lock:
            gone: list[int] = []
            for label in labels:
                video = self.videos.pop(int(label), None)
                if video is not None:
                    base = int(label) << SLOT_BITS
                    gone.extend(range(base, base + video.slots))
            if gone:
                self.frames.remove(gone)

    # --- queries -------------------------------------------------------------------------------

    def search(
        self, codes: Sequence[str], radius: int, owners: Sequence[int] | None = None
    ) -> dict[int, tuple[Int64s, Int64s, Int64s]]:
        """For each bank video with a frame within ``radius`` of one of ``codes`` (hex PDQ):
        (owner of the code, bank slot, distance) of every such pair, where ``owners[i]`` is the
        query slot code ``i`` belongs to (default: ``i``)."""
        found: dict[int, list[tuple[int, int, int]]] = {}
        for qi, code in enumerate(codes):
            owner = owners[qi] if owners is not None else qi
            for hit in self.frames.query(code, radius):
                entry = hit.label >> SLOT_BITS
                if entry in self.videos:
                    found.setdefault(entry, []).append((owner, hit.label & SLOT_MASK, hit.distance))
        out: dict[int, tuple[Int64s, Int64s, Int64s]] = {}
        for entry, pairs in found.items():
            arr = np.array(pairs, dtype=np.int64).reshape(-1, 3)
            out[entry] = (arr[:, 0], arr[:, 1], arr[:, 2])
        return out

    def video(self, entry_id: int) -> IndexedVideo | None:
        return self.videos.get(entry_id)

    def query(self, value: str, max_distance: int = 0) -> list[IndexHit]:
        """Bank videos sharing a frame within ``max_distance`` with the vPDQ ``value`` (the
        nearest frame's distance); the matcher's per-video shares come from :meth:`search`."""
        frames = FrameArrays.from_frames(parse_vpdq(value))
        best: dict[int, int] = {}
        for entry, (_, _, dist) in self.search(_hexes(frames.codes), max_distance).items():
            best[entry] = int(dist.min())
        return sorted(IndexHit(d, e) for e, d in best.items())

    def __len__(self) -> int:
        return len(self.videos)

    # --- maintenance ---------------------------------------------------------------------------

    def needs_compaction(self) -> bool:
        return self.frames.needs_compaction()

    def compact(self) -> None:
        self.frames.compact()

    def stats(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "signal_type": self.signal_type,
            "live": len(self),
            "frames": {k: v for k, v in self.frames.stats().items() if k not in ("kind", "signal_type")},
        }

    # --- persistence ---------------------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        with self._lock:
            fparams, farrays = self.frames.to_arrays()
            ids = sorted(self.videos)
            videos = [self.videos[i] for i in ids]
        arrays: dict[str, npt.NDArray[Any]] = {f"frames.{k}": v for k, v in farrays.items()}
        arrays["entry_ids"] = np.array(ids, dtype=np.int64)
        arrays["frame_offsets"] = np.cumsum([0, *(len(v.ms) for v in videos)]).astype(np.int64)
        arrays["slot_offsets"] = np.cumsum([0, *(v.slots for v in videos)]).astype(np.int64)
        arrays["ms"] = np.concatenate([np.zeros(0, np.int64), *(v.ms for v in videos)])
        arrays["slot"] = np.concatenate([np.zeros(0, np.int64), *(v.slot for v in videos)])
        arrays["slot_quality"] = np.concatenate([np.zeros(0, np.uint8), *(v.slot_quality for v in videos)])
        return {"frames": fparams}, arrays

    @classmethod
    def from_arrays(
        cls, signal_type: str, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> VpdqIndex:
        idx = cls(signal_type)
        farrays = {k.removeprefix("frames."): v for k, v in arrays.items() if k.startswith("frames.")}
        idx.frames = PdqIndex.from_arrays(signal_type, dict(params.get("frames", {})), farrays)
        fo, so = arrays["frame_offsets"], arrays["slot_offsets"]
        ms, slot, quality = arrays["ms"], arrays["slot"], arrays["slot_quality"]
        for k, entry in enumerate(arrays["entry_ids"].tolist()):
            idx.videos[int(entry)] = IndexedVideo(
                np.array(ms[fo[k] : fo[k + 1]], dtype=np.int64),
                np.array(slot[fo[k] : fo[k + 1]], dtype=np.int64),
                np.array(quality[so[k] : so[k + 1]], dtype=np.uint8),
            )
        return idx
