"""The nearest earlier code within a radius, for each new code in order: the search stacking needs.

An append-only multi-index hash (Norouzi et al., as :mod:`ohsc.index.mih`): the 256 bits are
cut into 16 chunks of 16 bits, and each chunk value heads a linked list of the positions whose
chunk has that value (``heads`` for the newest, ``links`` from each position to the one before
it). By the pigeonhole principle, a code within ``radius`` of a query has some chunk within
``r_i`` of the query's, for per-chunk radii with ``sum(r_i + 1) >= radius + 1`` (at the default
31: every chunk within one bit); so walking the lists of those chunk values, and checking each
code found in full, sees every code within ``radius``: none is missed, by construction.

A batch of 256 queries at 100,000 codes walks about 270 lists of about 1.5 codes each a query,
instead of comparing it with all 100,000 (the flat search before: quadratic in a case's size).
Where the probes would outnumber the codes (small indexes, wide radii), or the lists walked
hold more entries than there are codes (a crowd of alike codes, each found through several of
its chunks), every code is compared once instead: never much more work than the flat search.

Memory per code: 32 bytes of code, 8 of label, 8 of stack, 64 of links (16 int32), plus 4 MB of
list heads. Each new code joins the index right after its own query, so the codes before it in
its batch are searched as well.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from ohsc.index.codes import bytes_to_words
from ohsc.index.mih import chunk_radii

CHUNKS = 16
CHUNK_BITS = 16
#: no position (end of a list)
NONE = -1

I64 = npt.NDArray[np.int64]


@njit(cache=True, nogil=True, inline="always")
def _popcount(x: Any) -> Any:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True, inline="always")
def _key(q: Any, t: Any) -> Any:
    """Chunk ``t`` (16 bits) of a code in 4 words."""
    return np.int64((q[t // 4] >> np.uint64(48 - 16 * (t % 4))) & np.uint64(0xFFFF))


@njit(cache=True, nogil=True, inline="always")
def _distance(words: Any, i: Any, q: Any, radius: Any) -> Any:
    """Hamming distance of code ``i`` to ``q``; past ``radius`` after half the words, radius + 1."""
    d = np.int64(_popcount(words[i, 0] ^ q[0]) + _popcount(words[i, 1] ^ q[1]))
    if d > radius:
        return np.int64(radius + 1)
    return d + np.int64(_popcount(words[i, 2] ^ q[2]) + _popcount(words[i, 3] ^ q[3]))


@njit(cache=True, nogil=True, inline="always")
def _better(d: Any, label: Any, stack: Any, bd: Any, bl: Any, bs: Any) -> Any:
    """(d, label, stack) < (bd, bl, bs), as tuples compare."""
    if d != bd:
        return d < bd
    if label != bl:
        return label < bl
    return stack < bs


@njit(cache=True, nogil=True)
def _scan(words: Any, labels: Any, stacks: Any, n: Any, q: Any, radius: Any, best: Any) -> Any:
    """The smallest (distance, label, stack) within ``radius`` among the first ``n`` codes, by
    comparing each, into ``best``; False when there is none."""
    found = False
    bd = np.int64(radius + 1)
    bl = np.int64(0)
    bs = np.int64(0)
    for i in range(n):
        d = _distance(words, i, q, radius)
        if d <= radius and (not found or _better(d, labels[i], stacks[i], bd, bl, bs)):
            found, bd, bl, bs = True, d, labels[i], stacks[i]
    best[0] = bd
    best[1] = bl
    best[2] = bs
    return found


@njit(cache=True, nogil=True)
def _probe(
    words: Any,
    labels: Any,
    stacks: Any,
    links: Any,
    heads: Any,
    q: Any,
    radius: Any,
    radii: Any,
    budget: Any,
    best: Any,
) -> Any:
    """As :func:`_scan`, through the chunk lists: 1 found, 0 none, -1 when the lists held more
    than ``budget`` entries (a crowd of alike codes: then comparing each code once is cheaper)."""
    found = False
    bd = np.int64(radius + 1)
    bl = np.int64(0)
    bs = np.int64(0)
    seen = 0
    combo = np.empty(CHUNK_BITS, np.int64)
    for t in range(CHUNKS):
        r = radii[t]
        key = _key(q, t)
        for depth in range(0, r + 1):  # chunk values ``depth`` bits from the query's
            for i in range(depth):
                combo[i] = i
            while True:
                k = key
                for i in range(depth):
                    k ^= np.int64(1) << combo[i]
                p = heads[t, k]
                while p != NONE:
                    d = _distance(words, p, q, radius)
                    if d <= radius and (not found or _better(d, labels[p], stacks[p], bd, bl, bs)):
                        found, bd, bl, bs = True, d, labels[p], stacks[p]
                    p = links[p, t]
                    seen += 1
                if seen > budget:
                    return -1
                i = depth - 1
                while i >= 0 and combo[i] == CHUNK_BITS - depth + i:
                    i -= 1
                if i < 0:
                    break
                combo[i] += 1
                for j in range(i + 1, depth):
                    combo[j] = combo[j - 1] + 1
    best[0] = bd
    best[1] = bl
    best[2] = bs
    return 1 if found else 0


@njit(cache=True, nogil=True, inline="always")
def _append(
    words: Any, labels: Any, stacks: Any, links: Any, heads: Any, n: Any, q: Any, label: Any, stack: Any
) -> None:
    words[n] = q
    labels[n] = label
    stacks[n] = stack
    for t in range(CHUNKS):
        k = _key(q, t)
        links[n, t] = heads[t, k]
        heads[t, k] = n


@njit(cache=True, nogil=True)
def _place(
    words: Any,
    labels: Any,
    stacks: Any,
    links: Any,
    heads: Any,
    n: Any,
    queries: Any,
    ids: Any,
    radius: Any,
    radii: Any,
    scan_below: Any,
    out: Any,
) -> None:
    """Each query in order: the stack of its nearest earlier code (or its own id), then it joins."""
    best = np.empty(3, np.int64)
    for j in range(queries.shape[0]):
        q = queries[j]
        found = (
            -1 if n < scan_below else _probe(words, labels, stacks, links, heads, q, radius, radii, n, best)
        )
        if found < 0:
            found = 1 if _scan(words, labels, stacks, n, q, radius, best) else 0
        out[j] = best[2] if found else ids[j]
        _append(words, labels, stacks, links, heads, n, queries[j], ids[j], out[j])
        n += 1


@njit(cache=True, nogil=True)
def _extend(
    words: Any, labels: Any, stacks: Any, links: Any, heads: Any, n: Any, codes: Any, ids: Any, sts: Any
) -> None:
    for j in range(codes.shape[0]):
        _append(words, labels, stacks, links, heads, n + j, codes[j], ids[j], sts[j])


def _probes(radii: I64) -> int:
    return int(sum(sum(math.comb(CHUNK_BITS, d) for d in range(int(r) + 1)) for r in radii if r >= 0))


class StackIndex:
    """The stackable items of a case: code, item id and stack at each position, and the chunk
    lists over them. Grows by doubling, like the flat segment it replaces."""

    def __init__(self, radius: int) -> None:
        if not 0 <= radius <= 256:
            raise ValueError("radius must be within 0..256")
        self.radius = radius
        self.radii = chunk_radii(CHUNKS, radius)
        #: below this many codes a query compares every code (cheaper than its probes)
        self.scan_below = 4 * _probes(self.radii)
        self.n = 0
        self._words = np.empty((0, 4), np.uint64)
        self._labels = np.empty(0, np.int64)
        self._stacks = np.empty(0, np.int64)
        self._links = np.empty((0, CHUNKS), np.int32)
        self._heads = np.full((CHUNKS, 1 << CHUNK_BITS), NONE, np.int32)

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
        return sum(a.nbytes for a in (self._words, self._labels, self._stacks, self._links, self._heads))

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= self._labels.shape[0]:
            return
        if need >= 2**31:
            raise ValueError("a stack index holds fewer than 2**31 codes")
        size = max(need, 2 * self._labels.shape[0], 1024)

        def grown(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            out = np.empty((size, *a.shape[1:]), a.dtype)
            out[: self.n] = a[: self.n]
            return out

        self._words, self._labels = grown(self._words), grown(self._labels)
        self._stacks, self._links = grown(self._stacks), grown(self._links)

    def extend(self, codes: npt.NDArray[np.uint8], ids: I64, stacks: I64) -> None:
        """Add items already stacked (a case's items, read back to go on with it)."""
        if len(ids) == 0:
            return
        self._reserve(len(ids))
        w, s = self._words, self._stacks
        _extend(w, self._labels, s, self._links, self._heads, self.n, bytes_to_words(codes), ids, stacks)
        self.n += len(ids)

    def place(self, codes: npt.NDArray[np.uint8], ids: I64) -> I64:
        """The stack of each new code in order: that of its nearest earlier code within the
        radius (the smallest distance, then item id), or its own id. The codes join the index."""
        out = np.empty(len(ids), np.int64)
        if len(ids) == 0:
            return out
        self._reserve(len(ids))
        _place(
            self._words, self._labels, self._stacks, self._links, self._heads, self.n,
            bytes_to_words(codes), np.ascontiguousarray(ids, np.int64), self.radius, self.radii,
            self.scan_below, out,
        )  # fmt: skip
        self.n += len(ids)
        return out
