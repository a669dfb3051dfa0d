"""Every PDQ index implementation returns exactly what brute force returns: no misses, no extras.

The linear index is the oracle. Implementations under test: the production index with a faiss
flat base, with a multi-index-hashing base, with pending adds and removals, after compaction, and
after a save/load round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ohsc.errors import IndexCorruptError
from ohsc.index import ExactIndex, LinearPdqIndex, PdqIndex, SignalIndex
from ohsc.index.mih import chunk_radii
from ohsc.index.persist import read_index, write_index

RADII = [0, 1, 8, 31, 32, 45, 63]


def _flip(rng: np.random.Generator, code: bytes, bits: int) -> bytes:
    b = bytearray(code)
    for bit in rng.choice(256, bits, replace=False):
        b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def _dataset(seed: int = 7, n: int = 4000) -> tuple[list[int], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    base = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(n // 2)]
    # clusters: near-duplicates of the first codes, like re-encoded copies of one picture
    near = [_flip(rng, base[i % 50], int(rng.integers(0, 40))) for i in range(n - len(base))]
    codes = base + near
    labels = list(range(10, 10 + n))
    queries = [_flip(rng, codes[int(rng.integers(0, n))], int(rng.integers(0, 50))) for _ in range(120)]
    queries += [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(20)]
    return labels, [c.hex() for c in codes], [q.hex() for q in queries]


def _roundtrip(idx: SignalIndex, tmp: Path) -> SignalIndex:
    params, arrays = idx.to_arrays()
    write_index(
        tmp / "x.ohscidx", kind=idx.kind, signal_type=idx.signal_type, params=params, meta={}, arrays=arrays
    )
    f = read_index(tmp / "x.ohscidx")
    return type(idx).from_arrays(idx.signal_type, f.params, f.arrays)


def _flat(labels: list[int], values: list[str], tmp: Path) -> SignalIndex:
    idx = PdqIndex(mih_min=10**9)
    idx.add(labels, values)
    idx.compact()
    return idx


def _mih(labels: list[int], values: list[str], tmp: Path) -> SignalIndex:
    idx = PdqIndex(mih_min=100)
    idx.add(labels, values)
    idx.compact()
    return idx


def _mih_with_delta(labels: list[int], values: list[str], tmp: Path) -> SignalIndex:
    idx = PdqIndex(mih_min=100)
    half = len(labels) // 2
    idx.add(labels[:half], values[:half])
    idx.compact()
    idx.add(labels[half:], values[half:])
    return idx


def _saved_and_loaded(labels: list[int], values: list[str], tmp: Path) -> SignalIndex:
    return _roundtrip(_mih_with_delta(labels, values, tmp), tmp)


BUILDERS: dict[str, Callable[[list[int], list[str], Path], SignalIndex]] = {
    "flat": _flat,
    "mih": _mih,
    "mih+delta": _mih_with_delta,
    "saved+loaded": _saved_and_loaded,
}


@pytest.mark.parametrize("builder", list(BUILDERS))
def test_range_search_equals_brute_force(builder: str, tmp_path: Path) -> None:
    labels, values, queries = _dataset()
    oracle = LinearPdqIndex()
    oracle.add(labels, values)
    idx = BUILDERS[builder](labels, values, tmp_path)
    for radius in RADII:
        for q in queries:
            assert idx.query(q, radius) == oracle.query(q, radius), (builder, radius, q)


@pytest.mark.parametrize("builder", list(BUILDERS))
def test_removals_and_readds(builder: str, tmp_path: Path) -> None:
    labels, values, queries = _dataset(seed=3, n=1500)
    oracle = LinearPdqIndex()
    oracle.add(labels, values)
    idx = BUILDERS[builder](labels, values, tmp_path)
    gone = labels[::3]
    idx.remove(gone)
    oracle.remove(gone)
    back = gone[::2]
    idx.add(back, [values[labels.index(x)] for x in back])
    oracle.add(back, [values[labels.index(x)] for x in back])
    for q in queries:
        assert idx.query(q, 31) == oracle.query(q, 31)
    idx.compact()
    for q in queries:
        assert idx.query(q, 31) == oracle.query(q, 31)
    assert len(idx) == len(oracle)


def test_duplicate_codes_are_all_returned() -> None:
    code = "ab" * 32
    idx = PdqIndex(mih_min=2)
    idx.add([1, 2, 3], [code, code, code])
    idx.compact()
    idx.add([4], [code])
    assert [h.label for h in idx.query(code, 0)] == [1, 2, 3, 4]


@given(m=st.integers(1, 32), radius=st.integers(0, 128))
@settings(max_examples=200, deadline=None)
def test_pigeonhole_radii_cover_the_radius(m: int, radius: int) -> None:
    r = chunk_radii(m, radius)
    assert int((r + 1).sum()) >= radius + 1
    assert r.max() - r.min() <= 1


def test_exact_index_against_a_dict() -> None:
    rng = np.random.default_rng(1)
    values = [rng.integers(0, 256, 16, dtype=np.uint8).tobytes().hex() for _ in range(500)]
    values += values[:50]  # the same digest in two banks
    labels = list(range(1, len(values) + 1))
    idx = ExactIndex("md5", 16)
    idx.add(labels[:300], values[:300])
    idx.compact()
    idx.add(labels[300:], values[300:])
    idx.remove(labels[::7])

    def expected(v: str) -> list[int]:
        return sorted(
            lab for lab, val in zip(labels, values, strict=True) if val == v and lab not in labels[::7]
        )

    for v in [*values[:120], "00" * 16]:
        assert [h.label for h in idx.query(v)] == expected(v)
    idx.compact()
    for v in values[:120]:
        assert [h.label for h in idx.query(v)] == expected(v)
    zero_tail = "ab" * 15 + "00"  # numpy bytes strings drop trailing NULs: still found
    idx.add([9999], [zero_tail])
    idx.compact()
    assert [h.label for h in idx.query(zero_tail)] == [9999]


def test_index_files_detect_damage(tmp_path: Path) -> None:
    labels, values, _ = _dataset(n=300)
    idx = _mih(labels, values, tmp_path)
    params, arrays = idx.to_arrays()
    path = tmp_path / "pdq.ohscidx"
    write_index(path, kind="pdq", signal_type="pdq", params=params, meta={"x": 1}, arrays=arrays)
    assert read_index(path).meta == {"x": 1}
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / "flipped.ohscidx").write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="checksum mismatch"):
        read_index(tmp_path / "flipped.ohscidx")
    (tmp_path / "short.ohscidx").write_bytes(path.read_bytes()[:200])
    with pytest.raises(IndexCorruptError):
        read_index(tmp_path / "short.ohscidx")
    (tmp_path / "other.ohscidx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(IndexCorruptError, match="not an OHSC index"):
        read_index(tmp_path / "other.ohscidx")
    assert b"pickle" not in path.read_bytes()[:2000]
