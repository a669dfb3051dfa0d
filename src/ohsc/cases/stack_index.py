"""The nearest earlier code within a radius, for each new code in order: the search stacking needs.

Multi-index hashing (Norouzi et al., as :mod:`ohsc.index.mih`): the 256 bits are cut into 16
chunks of 16 bits. By the pigeonhole principle, a code within ``radius`` of a query has some
chunk within ``r_i`` of the query's, for per-chunk radii with ``sum(r_i + 1) >= radius + 1`` (at
the default 31: every chunk within one bit); so looking up the codes whose chunk has one of those
values, and checking each in full, sees every code within ``radius``: none is missed, by
construction.

The codes sit in a *base*, where for each chunk the positions are sorted by the chunk's value
(a bucket of positions for each of the 65,536 values), and a *delta* of the newest codes, searched
flat by faiss; when the delta outgrows :data:`DELTA_MIN` (or a sixteenth of the base) it is
sorted into the base. A batch of 256 queries at 100,000 codes looks at about 400 codes a query
instead of all of them (the flat search before: quadratic in a case's size), in numpy, a batch at
a time (no compiled kernel: a numba kernel did the same but its runtime took 50 MB more). Where
the buckets of a batch hold more codes than a flat search would compare (a crowd of alike codes,
wide radii), each query is compared with every code of the base instead.

Memory per code: 32 bytes of code, 8 of label, 8 of stack, 64 of bucket entries (16 uint32),
plus 4 MB of bucket starts and the delta's codes again in faiss (at most a sixteenth of them);
while the delta is sorted in, the new bucket entries (64 bytes a code) and a sort's indexes.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from ohsc.index.codes import bytes_to_words
from ohsc.index.mih import chunk_radii

CHUNKS = 16
CHUNK_BITS = 16
#: the delta is sorted into the base past this many codes (or a sixteenth of the base)
DELTA_MIN = 8192
#: chunk values looked up a query at most (272 at the default threshold of 31, 3,872 at 50,
#: 11,152 at 63): past it a threshold is too wide for the buckets, the flat search stays
PROBES_MAX = 8192
#: queries x probes looked up at once (the arrays of a lookup stay a few MB)
_BLOCK = 1 << 19

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def _keys(words: U64) -> npt.NDArray[np.uint16]:
    """(n, 16) chunk values of codes in 4 words."""
    out = np.empty((words.shape[0], CHUNKS), np.uint16)
    for t in range(CHUNKS):
        out[:, t] = (words[:, t // 4] >> np.uint64(48 - 16 * (t % 4))) & np.uint64(0xFFFF)
    return out


def _probes(radii: I64) -> tuple[I64, I64]:
    """(chunk, mask) of every chunk value to look up: the query's chunk XOR each mask."""
    chunks: list[int] = []
    masks: list[int] = []
    for t, r in enumerate(radii.tolist()):
        for depth in range(r + 1):
            for bits in combinations(range(CHUNK_BITS), depth):
                chunks.append(t)
                masks.append(sum(1 << b for b in bits))
    return np.array(chunks, np.int64), np.array(masks, np.int64)


def probes_per_query(radius: int) -> int:
    """Chunk values a query looks up at this threshold."""
    return len(_probes(chunk_radii(CHUNKS, radius))[0])


def _range(index: faiss.IndexBinaryFlat, queries: npt.NDArray[np.uint8], radius: int) -> tuple[I64, I64, I64]:
    """(query, position, distance) of every code within ``radius`` of each query."""
    if index.ntotal == 0 or len(queries) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    lims, dist, idx = index.range_search(queries, radius + 1)  # faiss: distance < r
    q = np.repeat(np.arange(len(queries), dtype=np.int64), np.diff(lims).astype(np.int64))
    return q, idx.astype(np.int64), dist.astype(np.int64)


class StackIndex:
    """The stackable items of a case: code, item id and stack at each position, and the chunk
    buckets over them. Grows by doubling, like the flat segment it replaces."""

    def __init__(self, radius: int) -> None:
        if not 0 <= radius <= 256:
            raise ValueError("radius must be within 0..256")
        self.radius = radius
        self.radii = chunk_radii(CHUNKS, radius)
        self._probe_chunks, self._probe_masks = _probes(self.radii)
        self.n = 0
        #: codes below this position are in the base's buckets, the rest in the delta
        self.n_base = 0
        self._words = np.empty((0, 4), np.uint64)
        self._labels = np.empty(0, np.int64)
        self._stacks = np.empty(0, np.int64)
        #: for each chunk, the base's positions ordered by the chunk's value ...
        self._order = np.empty((CHUNKS, 0), np.uint32)
        #: ... and where each value's bucket starts in it
        self._starts = np.zeros((CHUNKS, (1 << CHUNK_BITS) + 1), np.uint32)
        self._delta = faiss.IndexBinaryFlat(256)
        #: batches whose queries were compared with every code of the base (crowds)
        self.scans = 0

    def __len__(self) -> int:
        return self.n

    @property
    def labels(self) -> I64:
        return self._labels[: self.n]

    @property
    def stacks(self) -> I64:
        return self._stacks[: self.n]

    @property
    def nbytes(self) -> int:
        arrays = (self._words, self._labels, self._stacks, self._order, self._starts)
        return sum(a.nbytes for a in arrays) + 32 * int(self._delta.ntotal)

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= self._labels.shape[0]:
            return
        if need >= 2**32:
            raise ValueError("a stack index holds fewer than 2**32 codes")
        size = max(need, 2 * self._labels.shape[0], 1024)

        def grown(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            out = np.empty((size, *a.shape[1:]), a.dtype)
            out[: self.n] = a[: self.n]
            return out

        self._words, self._labels, self._stacks = grown(self._words), grown(self._labels), grown(self._stacks)

    def _append(self, codes: npt.NDArray[np.uint8], ids: I64, stacks: I64) -> None:
        self._reserve(len(ids))
        end = self.n + len(ids)
        self._words[self.n : end] = bytes_to_words(codes)
        self._labels[self.n : end] = ids
        self._stacks[self.n : end] = stacks
        self._delta.add(np.ascontiguousarray(codes))
        self.n = end
        if self.n - self.n_base > max(DELTA_MIN, self.n_base // 16):
            self._merge()

    def _merge(self) -> None:
        """Sort every code into the base's buckets; the delta is empty after."""
        self._order = np.empty((CHUNKS, 0), np.uint32)  # (the old order goes first)
        order = np.empty((CHUNKS, self.n), np.uint32)
        words = self._words[: self.n]
        for t in range(CHUNKS):
            column = ((words[:, t // 4] >> np.uint64(48 - 16 * (t % 4))) & np.uint64(0xFFFF)).astype(
                np.uint16
            )
            order[t] = np.argsort(column, kind="stable")
            counts = np.bincount(column, minlength=1 << CHUNK_BITS)
            self._starts[t, 1:] = np.cumsum(counts)
        self._order = order
        self.n_base = self.n
        self._delta.reset()

    def extend(self, codes: npt.NDArray[np.uint8], ids: I64, stacks: I64) -> None:
        """Add items already stacked (a case's items, read back to go on with it)."""
        if len(ids) == 0:
            return
        self._append(codes, np.asarray(ids, np.int64), np.asarray(stacks, np.int64))

    def _base_best(self, qwords: U64) -> I64:
        """(distance, label, stack) of each query's nearest base code within the radius, by
        distance, then label, then stack; distance radius + 1 where there is none."""
        nq = qwords.shape[0]
        best = np.zeros((nq, 3), np.int64)
        best[:, 0] = self.radius + 1
        if self.n_base == 0 or len(self._probe_chunks) == 0:
            return best
        step = max(1, _BLOCK // len(self._probe_chunks))
        for start in range(0, nq, step):
            best[start : start + step] = self._block_best(qwords[start : start + step])
        return best

    def _block_best(self, qwords: U64) -> I64:
        nq = qwords.shape[0]
        best = np.zeros((nq, 3), np.int64)
        best[:, 0] = self.radius + 1
        chunks, masks = self._probe_chunks, self._probe_masks
        values = _keys(qwords).astype(np.int64)[:, chunks] ^ masks[None, :]  # (queries, probes)
        lo = self._starts[chunks[None, :], values].astype(np.int64)
        counts = self._starts[chunks[None, :], values + 1].astype(np.int64) - lo
        if int(counts.sum()) > nq * self.n_base:  # a crowd: comparing each code is less
            return self._scan_best(qwords, best)
        lo += (chunks * self.n_base)[None, :]
        queries = np.repeat(np.arange(nq, dtype=np.int64), len(chunks))
        lo, counts, queries = lo.ravel(), counts.ravel(), queries
        keep = counts > 0
        lo, counts, queries = lo[keep], counts[keep], queries[keep]
        total = int(counts.sum())
        if total == 0:
            return best
        first = np.cumsum(counts) - counts
        flat = np.arange(total, dtype=np.int64) - np.repeat(first - lo, counts)
        pos = self._order.reshape(-1)[flat].astype(np.int64)
        who = np.repeat(queries, counts)
        words = self._words
        dist = np.bitwise_count(words[pos, 0] ^ qwords[who, 0]).astype(np.int64)
        dist += np.bitwise_count(words[pos, 1] ^ qwords[who, 1])
        half = dist <= self.radius  # most are past it by half the bits (few codes go on)
        pos, who, dist = pos[half], who[half], dist[half]
        dist += np.bitwise_count(words[pos, 2] ^ qwords[who, 2])
        dist += np.bitwise_count(words[pos, 3] ^ qwords[who, 3])
        near = dist <= self.radius
        self._fold(best, who[near], pos[near], dist[near])
        return best

    def _scan_best(self, qwords: U64, best: I64) -> I64:
        self.scans += 1
        words = self._words[: self.n_base]
        for q in range(qwords.shape[0]):
            dist = np.bitwise_count(words ^ qwords[q]).sum(axis=1, dtype=np.int64)
            pos = np.nonzero(dist <= self.radius)[0]
            self._fold(best, np.full(len(pos), q, np.int64), pos, dist[pos])
        return best

    def _fold(self, best: I64, who: I64, pos: I64, dist: I64) -> None:
        """Each query's smallest (distance, label, stack) among these hits, into ``best``."""
        if len(pos) == 0:
            return
        labels, stacks = self._labels[pos], self._stacks[pos]
        order = np.lexsort((stacks, labels, dist, who))
        who, first = np.unique(who[order], return_index=True)
        picked = order[first]
        cand = np.stack([dist[picked], labels[picked], stacks[picked]], axis=1)
        for q, row in zip(who.tolist(), cand.tolist(), strict=True):
            if tuple(row) < tuple(best[q].tolist()):
                best[q] = row

    def place(self, codes: npt.NDArray[np.uint8], ids: I64) -> I64:
        """The stack of each new code in order: that of its nearest earlier code within the
        radius (the smallest distance, then item id), or its own id. The codes join the index."""
        ids = np.ascontiguousarray(ids, np.int64)
        out = np.empty(len(ids), np.int64)
        if len(ids) == 0:
            return out
        codes = np.ascontiguousarray(codes, np.uint8)
        qwords = bytes_to_words(codes)
        best = self._base_best(qwords)
        dq, dpos, ddist = _range(self._delta, codes, self.radius)
        self._fold(best, dq, dpos + self.n_base, ddist)
        batch = faiss.IndexBinaryFlat(256)
        batch.add(codes)
        aq, apos, adist = _range(batch, codes, self.radius)
        earlier = apos < aq
        aq, apos, adist = aq[earlier], apos[earlier], adist[earlier]
        among: dict[int, list[tuple[int, int]]] = {}
        for q, p, d in zip(aq.tolist(), apos.tolist(), adist.tolist(), strict=True):
            among.setdefault(q, []).append((d, p))
        rows = best.tolist()
        id_list = ids.tolist()
        for q, item_id in enumerate(id_list):
            found = rows[q] if rows[q][0] <= self.radius else None
            for d, p in among.get(q, ()):
                cand = [d, id_list[p], int(out[p])]
                found = cand if found is None or cand < found else found
            out[q] = item_id if found is None else found[2]
        self._append(codes, ids, out)
        return out
