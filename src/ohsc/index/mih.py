"""Multi-index hashing (Norouzi et al.) for exact PDQ range search at millions of hashes.

The 256 bits are cut into ``m`` chunks and each chunk's top ``b`` bits address a bucket table.
By the generalised pigeonhole principle, if ``distance(q, x) <= R`` then for per-chunk radii
``r_i`` with ``sum(r_i + 1) >= R + 1`` some chunk of ``x`` lies within ``r_i`` of ``q``'s chunk;
so probing every bucket within ``r_i`` of each query chunk and checking the full distance of what
is found returns *every* code within ``R``: no misses, by construction.

Memory per code: 32 bytes of code, 4 per label and 4 per table but the first (codes are stored in
table-0 order), plus ``m * 2**b`` bucket offsets: about 945 MB at 10 M codes with m=11, b=22.
The kernels are numba-compiled (nogil), cached on disk after the first run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from ohsc.index.codes import bytes_to_words

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

#: Number of chunks. 256/11 = 23.3 bits per chunk suits 1M..20M codes (log2 n ~ 20..24).
DEFAULT_CHUNKS = 11


def chunk_layout(m: int) -> tuple[I64, I64]:
    base, extra = divmod(256, m)
    widths = np.array([base + (1 if i < extra else 0) for i in range(m)], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    return starts, widths


def chunk_radii(m: int, radius: int) -> I64:
    """Per-chunk probe radii with ``sum(r_i + 1) >= radius + 1`` spread as evenly as possible."""
    total = radius + 1
    base, extra = divmod(total, m)
    return np.array([base - 1 + (1 if i < extra else 0) for i in range(m)], dtype=np.int64)


def bucket_bits(n: int, min_width: int) -> int:
    """Bucket-address bits for ``n`` codes: a little over one code per bucket, at most the chunk
    width; the offset tables stay under half the size of the codes and ids (about 945 MB in all
    at 10 M codes: b=22). Measured in benchmarks/bench_matching.py."""
    if n < 2:
        return 8
    return int(min(min_width, max(8, math.floor(math.log2(0.8 * n)))))


def probes_per_query(b: int, radii: I64) -> int:
    return int(sum(sum(math.comb(b, d) for d in range(int(r) + 1)) for r in radii if r >= 0))


@njit(cache=True, nogil=True, inline="always")
def _popcount(x: Any) -> Any:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True, inline="always")
def _extract(words: Any, start: Any, width: Any) -> Any:
    """Bits ``start .. start+width`` (from the hash's first bit) as an integer."""
    w = start // 64
    off = start % 64
    if off + width <= 64:
        return np.int64((words[w] >> np.uint64(64 - off - width)) & np.uint64((1 << width) - 1))
    hi_bits = 64 - off
    lo_bits = width - hi_bits
    hi = words[w] & np.uint64((1 << hi_bits) - 1)
    lo = words[w + 1] >> np.uint64(64 - lo_bits)
    return np.int64((hi << np.uint64(lo_bits)) | lo)


@njit(cache=True, nogil=True)
def _table_keys(codes: Any, start: Any, width: Any, b: Any) -> Any:
    n = codes.shape[0]
    keys = np.empty(n, np.int64)
    shift = width - b
    for i in range(n):
        keys[i] = _extract(codes[i], start, width) >> shift
    return keys


@njit(cache=True, nogil=True)
def _counting_sort(keys: Any, nbuckets: Any) -> Any:
    """Stable bucket order of ``keys`` and the bucket start offsets (O(n + nbuckets))."""
    offsets = np.zeros(nbuckets + 1, np.int64)
    for k in keys:
        offsets[k + 1] += 1
    for i in range(nbuckets):
        offsets[i + 1] += offsets[i]
    cursor = offsets[:-1].copy()
    order = np.empty(keys.shape[0], np.uint32)
    for i in range(keys.shape[0]):
        k = keys[i]
        order[cursor[k]] = i
        cursor[k] += 1
    return order, offsets


@njit(cache=True, nogil=True, inline="always")
def _scan_bucket(
    codes: Any, ids: Any, t: Any, a: Any, z: Any, q: Any, radius: Any, out_pos: Any, out_dist: Any, nout: Any
) -> Any:
    q0 = q[0]
    q1 = q[1]
    q2 = q[2]
    q3 = q[3]
    for p in range(a, z):
        i = p if t == 0 else np.int64(ids[t - 1, p])
        d = _popcount(codes[i, 0] ^ q0) + _popcount(codes[i, 1] ^ q1)
        if d > radius:
            continue
        d += _popcount(codes[i, 2] ^ q2) + _popcount(codes[i, 3] ^ q3)
        if d <= radius:
            if nout < out_pos.shape[0]:
                out_pos[nout] = i
                out_dist[nout] = d
            nout += 1
    return nout


@njit(cache=True, nogil=True)
def _search(
    codes: Any,
    ids: Any,
    offsets: Any,
    starts: Any,
    widths: Any,
    b: Any,
    radii: Any,
    q: Any,
    radius: Any,
    out_pos: Any,
    out_dist: Any,
) -> Any:
    """Fill ``out_pos``/``out_dist`` with every code within ``radius`` (positions may repeat
    across tables). Returns the number found, which may exceed the buffers: then call again
    with bigger ones."""
    nout = 0
    m = starts.shape[0]
    combo = np.empty(64, np.int64)
    for t in range(m):
        r = radii[t]
        if r < 0:
            continue
        key = _extract(q, starts[t], widths[t]) >> (widths[t] - b)
        nout = _scan_bucket(
            codes,
            ids,
            t,
            np.int64(offsets[t, key]),
            np.int64(offsets[t, key + 1]),
            q,
            radius,
            out_pos,
            out_dist,
            nout,
        )
        for depth in range(1, r + 1):
            for i in range(depth):
                combo[i] = i
            while True:
                k = key
                for i in range(depth):
                    k ^= np.int64(1) << combo[i]
                nout = _scan_bucket(
                    codes,
                    ids,
                    t,
                    np.int64(offsets[t, k]),
                    np.int64(offsets[t, k + 1]),
                    q,
                    radius,
                    out_pos,
                    out_dist,
                    nout,
                )
                i = depth - 1
                while i >= 0 and combo[i] == b - depth + i:
                    i -= 1
                if i < 0:
                    break
                combo[i] += 1
                for j in range(i + 1, depth):
                    combo[j] = combo[j - 1] + 1
    return nout


@njit(cache=True, nogil=True)
def _scan_all(codes: Any, q: Any, radius: Any, out_pos: Any, out_dist: Any) -> Any:
    nout = 0
    for i in range(codes.shape[0]):
        d = _popcount(codes[i, 0] ^ q[0]) + _popcount(codes[i, 1] ^ q[1])
        if d > radius:
            continue
        d += _popcount(codes[i, 2] ^ q[2]) + _popcount(codes[i, 3] ^ q[3])
        if d <= radius:
            if nout < out_pos.shape[0]:
                out_pos[nout] = i
                out_dist[nout] = d
            nout += 1
    return nout


class MihTable:
    """An immutable multi-index-hashing table. Codes are kept in table-0 bucket order;
    :meth:`search` returns positions in that order (the caller keeps labels aligned with it)."""

    def __init__(
        self,
        words: U64,
        ids: npt.NDArray[np.uint32],
        offsets: npt.NDArray[np.uint32],
        m: int,
        b: int,
    ) -> None:
        self.words = words
        self.ids = ids
        self.offsets = offsets
        self.m = m
        self.b = b
        self.starts, self.widths = chunk_layout(m)
        self._plans: dict[int, tuple[I64, bool]] = {}

    def _plan(self, radius: int) -> tuple[I64, bool]:
        """Per-chunk radii for ``radius``, and whether a plain scan is cheaper than probing."""
        plan = self._plans.get(radius)
        if plan is None:
            radii = chunk_radii(self.m, radius)
            plan = (radii, probes_per_query(self.b, radii) * 4 > len(self))
            self._plans[radius] = plan
        return plan

    @classmethod
    def build(
        cls, codes: npt.NDArray[np.uint8], m: int = DEFAULT_CHUNKS, b: int | None = None
    ) -> tuple[MihTable, npt.NDArray[np.uint32]]:
        """The table and the permutation applied to the input rows (``table row p = input order[p]``)."""
        words = bytes_to_words(codes)
        n = words.shape[0]
        if n >= 2**32:
            raise ValueError("MIH tables hold fewer than 2**32 codes")
        starts, widths = chunk_layout(m)
        if b is None:
            b = bucket_bits(n, int(widths.min()))
        nb = 1 << b
        keys0 = _table_keys(words, starts[0], widths[0], b)
        order0, off0 = _counting_sort(keys0, nb)
        words = np.ascontiguousarray(words[order0])
        offsets = np.empty((m, nb + 1), np.uint32)
        offsets[0] = off0
        ids = np.empty((m - 1, n), np.uint32)
        for t in range(1, m):
            keys = _table_keys(words, starts[t], widths[t], b)
            ids[t - 1], offs = _counting_sort(keys, nb)
            offsets[t] = offs
        return cls(words, ids, offsets, m, b), order0

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.ids.nbytes + self.offsets.nbytes)

    def codes(self) -> npt.NDArray[np.uint8]:
        """The (n, 32) byte codes in table order."""
        return np.ascontiguousarray(self.words.astype(">u8")).view(np.uint8).reshape(-1, 32)

    def search(self, query_words: U64, radius: int) -> tuple[I64, I64]:
        """(positions, distances) of every code within ``radius`` (positions may repeat).

        Thread-safe: the table is read-only and every call has its own output buffers."""
        radii, use_scan = self._plan(radius)
        size = 256
        while True:
            out_pos = np.empty(size, np.int64)
            out_dist = np.empty(size, np.int64)
            if use_scan:
                n = _scan_all(self.words, query_words, radius, out_pos, out_dist)
            else:
                n = _search(
                    self.words, self.ids, self.offsets, self.starts, self.widths, self.b, radii,
                    query_words, radius, out_pos, out_dist,
                )  # fmt: skip
            if n <= size:
                return out_pos[:n], out_dist[:n]
            size = 2 * n

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"mih_words": self.words, "mih_ids": self.ids, "mih_offsets": self.offsets}

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[Any]], m: int, b: int) -> MihTable:
        return cls(arrays["mih_words"], arrays["mih_ids"], arrays["mih_offsets"], m, b)
