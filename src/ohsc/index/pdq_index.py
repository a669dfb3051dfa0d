"""The production PDQ index: an immutable base segment plus an append-only delta.

* **base**: faiss ``IndexBinaryFlat`` for small banks, :class:`~ohsc.index.mih.MihTable` beyond
  ``mih_min`` codes (crossover measured in ``benchmarks/bench_matching.py``);
* **delta**: faiss ``IndexBinaryFlat`` that takes adds instantly;
* **removed**: a set of labels filtered out of every answer.

Adds and removals are therefore matchable at once, without a rebuild. :meth:`compact` folds the
delta and the removals into a new base (seconds at 10 M; the service runs it in the background).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np
import numpy.typing as npt

from ohsc.index.base import IndexHit, SignalIndex, as_labels, finish_hits
from ohsc.index.codes import bytes_to_words, hex_to_bytes
from ohsc.index.threads import limit_calling_thread

if TYPE_CHECKING:  # multi-index hashing (numba) is imported only for banks big enough to use it
    from ohsc.index.mih import MihTable

#: Base segments at least this big use multi-index hashing: below, faiss flat answers faster
#: (crossover measured between 200k and 400k codes; see docs/benchmarks.md).
MIH_MIN_SIZE = 250_000
#: Compact when the delta holds more than this many codes, or a tenth of the base.
DELTA_MAX = 50_000

Codes = npt.NDArray[np.uint8]
Labels = npt.NDArray[np.int64]


class FlatSegment:
    """faiss ``IndexBinaryFlat`` with labels; appends are cheap."""

    def __init__(self) -> None:
        self.index = faiss.IndexBinaryFlat(256)
        self._labels = np.empty(1024, dtype=np.int64)
        self._codes = np.empty((1024, 32), dtype=np.uint8)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(self, codes: Codes, labels: Labels) -> None:
        if len(labels) == 0:
            return
        need = self._n + len(labels)
        if need > self._labels.shape[0]:
            size = max(need, 2 * self._labels.shape[0])
            grown = np.empty(size, dtype=np.int64)
            grown[: self._n] = self._labels[: self._n]
            self._labels = grown
            grown_codes = np.empty((size, 32), dtype=np.uint8)
            grown_codes[: self._n] = self._codes[: self._n]
            self._codes = grown_codes
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        self._labels[self._n : need] = labels
        self._codes[self._n : need] = codes
        self.index.add(codes)
        self._n = need

    @property
    def labels(self) -> Labels:
        return self._labels[: self._n]

    def codes(self) -> Codes:
        return self._codes[: self._n]

    def search(self, query: Codes, radius: int) -> tuple[Labels, npt.NDArray[np.int64]]:
        if self._n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        limit_calling_thread()  # one query: more OpenMP threads would only spin (index.threads)
        _lims, dist, idx = self.index.range_search(query.reshape(1, 32), radius + 1)  # faiss: distance < r
        return self.labels[idx], dist.astype(np.int64)


class MihSegment:
    def __init__(self, table: MihTable, labels: Labels) -> None:
        self.table = table
        self.labels = labels

    @classmethod
    def build(cls, codes: Codes, labels: Labels) -> MihSegment:
        from ohsc.index.mih import MihTable

        table, order = MihTable.build(codes)
        ordered = labels[order]
        if len(ordered) and ordered.min() >= 0 and ordered.max() < 2**32:
            ordered = ordered.astype(np.uint32)  # 4 bytes a label instead of 8
        return cls(table, ordered)

    def __len__(self) -> int:
        return len(self.table)

    def codes(self) -> Codes:
        return self.table.codes()

    def search(self, query: Codes, radius: int) -> tuple[Labels, npt.NDArray[np.int64]]:
        pos, dist = self.table.search(bytes_to_words(query.reshape(1, 32))[0], radius)
        return self.labels[pos].astype(np.int64), dist


Segment = FlatSegment | MihSegment


def build_segment(codes: Codes, labels: Labels, mih_min: int = MIH_MIN_SIZE) -> Segment:
    if len(labels) >= mih_min:
        return MihSegment.build(codes, labels)
    seg = FlatSegment()
    seg.add(codes, labels)
    return seg


class PdqIndex(SignalIndex):
    """Exact PDQ range search with incremental adds and removals (thread-safe)."""

    kind = "pdq"

    def __init__(self, signal_type: str = "pdq", *, mih_min: int = MIH_MIN_SIZE) -> None:
        super().__init__(signal_type)
        self.mih_min = mih_min
        self._base: Segment = FlatSegment()
        self._delta = FlatSegment()
        self._dead: set[int] = set()
        self._lock = threading.RLock()

    # --- changes -------------------------------------------------------------------------------

    def add(self, labels: Sequence[int], values: Sequence[str]) -> None:
        self.add_codes(as_labels(labels), hex_to_bytes(values))

    def add_codes(self, labels: Labels, codes: Codes) -> None:
        """Bulk add of (n, 32) byte codes (no hex round trip)."""
        labs = as_labels(labels)
        with self._lock:
            self._delta.add(codes, labs)
            if self._dead:
                self._dead.difference_update(labs.tolist())

    def remove(self, labels: Iterable[int]) -> None:
        with self._lock:
            self._dead.update(int(x) for x in labels)

    # --- queries -------------------------------------------------------------------------------

    def query(self, value: str, max_distance: int = 0) -> list[IndexHit]:
        q = hex_to_bytes([value])[0]
        with self._lock:
            # the delta changes under adds: search it under the lock, together with taking the
            # base that goes with it (compaction swaps both at once)
            base, dead = self._base, self._dead
            dl, dd = self._delta.search(q, max_distance)
        # the base never changes once built: search it without the lock, so concurrent queries
        # (server threads) run in parallel in the nogil kernel
        bl, bd = base.search(q, max_distance)
        return finish_hits(np.concatenate([bl, dl]), np.concatenate([bd, dd]), dead)

    def __len__(self) -> int:
        return len(self._base) + len(self._delta) - len(self._dead)

    # --- maintenance ---------------------------------------------------------------------------

    def needs_compaction(self) -> bool:
        limit = max(DELTA_MAX, len(self._base) // 10)
        return len(self._delta) > limit or len(self._dead) > max(1000, len(self._base) // 10)

    def _live(self) -> tuple[Codes, Labels]:
        codes = np.concatenate([self._base.codes(), self._delta.codes()])
        labels = np.concatenate([self._base.labels, self._delta.labels]).astype(np.int64)
        keep = np.ones(len(labels), dtype=bool)
        if self._dead:
            keep &= ~np.isin(labels, np.fromiter(self._dead, dtype=np.int64))
        # one copy per label (a restored entry may have been added twice): keep the last
        _, last = np.unique(labels[::-1], return_index=True)
        unique = np.zeros(len(labels), dtype=bool)
        unique[len(labels) - 1 - last] = True
        keep &= unique
        return codes[keep], labels[keep]

    def compact(self) -> None:
        with self._lock:
            dead_snapshot = set(self._dead)
            delta_len = len(self._delta)
            codes, labels = self._live()
        segment = build_segment(codes, labels, self.mih_min)  # slow part, outside the lock
        with self._lock:
            # changes that arrived meanwhile stay in a new delta / dead set
            new_delta = FlatSegment()
            if len(self._delta) > delta_len:
                new_delta.add(self._delta.codes()[delta_len:], self._delta.labels[delta_len:])
            readded_then_removed = self._dead & set(new_delta.labels.tolist())
            self._base = segment
            self._delta = new_delta
            self._dead = (self._dead - dead_snapshot) | readded_then_removed

    def stats(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "signal_type": self.signal_type,
            "base": type(self._base).__name__,
            "base_size": len(self._base),
            "delta_size": len(self._delta),
            "removed_pending": len(self._dead),
            "memory_bytes": self.memory_bytes(),
        }

    def memory_bytes(self) -> int:
        total = 0
        for seg in (self._base, self._delta):
            if isinstance(seg, MihSegment):
                total += seg.table.nbytes + seg.labels.nbytes
            else:
                total += len(seg) * (32 + 8)
        return total

    # --- persistence ---------------------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        with self._lock:
            arrays: dict[str, npt.NDArray[Any]] = {
                "delta_codes": self._delta.codes(),
                "delta_labels": self._delta.labels.copy(),
                "dead": np.array(sorted(self._dead), dtype=np.int64),
            }
            params: dict[str, Any] = {"mih_min": self.mih_min}
            if isinstance(self._base, MihSegment):
                params.update(base="mih", m=self._base.table.m, b=self._base.table.b)
                arrays.update(self._base.table.arrays())
                arrays["base_labels"] = self._base.labels
            else:
                params["base"] = "flat"
                arrays["base_codes"] = self._base.codes()
                arrays["base_labels"] = self._base.labels.copy()
            return params, arrays

    @classmethod
    def from_arrays(
        cls, signal_type: str, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> PdqIndex:
        idx = cls(signal_type, mih_min=int(params.get("mih_min", MIH_MIN_SIZE)))
        if params.get("base") == "mih":
            from ohsc.index.mih import DEFAULT_CHUNKS, MihTable

            table = MihTable.from_arrays(arrays, int(params.get("m", DEFAULT_CHUNKS)), int(params["b"]))
            idx._base = MihSegment(table, arrays["base_labels"])
        else:
            base = FlatSegment()
            base.add(arrays["base_codes"], arrays["base_labels"].astype(np.int64))
            idx._base = base
        idx._delta.add(arrays["delta_codes"], arrays["delta_labels"].astype(np.int64))
        idx._dead = set(arrays["dead"].tolist())
        return idx
