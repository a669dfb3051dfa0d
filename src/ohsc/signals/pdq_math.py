"""PDQ's arithmetic in numpy, following Meta's C++ reference step by step.

The reference blurs the full-resolution luma with two passes of a Jarosz box filter, samples a
64x64 grid, takes the 16x16 lowest non-constant DCT coefficients and thresholds them at their
median. Blur and sampling are linear, so for a given image size they collapse into two small
matrices: ``buffer64 = R_rows @ luma @ R_cols.T``. That lets the fast pipeline start from a luma
plane decoded at 1/2, 1/4 or 1/8 scale (JPEG DCT scaling): each reduced pixel stands for the mean
of a ``scale x scale`` block, so the operator's weights are summed over each block and the
samples still fall exactly where the reference puts them. At scale 1 the result is bit-identical
to ``pdqhash`` (checked in the tests); at reduced scale it stays within a few bits for photos
(fine detail is caught by fast mode's check: :mod:`ohsc.signals.pdq_pipeline`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float32]

#: Meta's DCT matrix: rows are frequencies 1..16 of a 64-point DCT-II.
_DCT = np.array(
    [
        [np.sqrt(2.0 / 64.0) * np.cos(np.pi / 2.0 / 64.0 * (i + 1) * (2 * j + 1)) for j in range(64)]
        for i in range(16)
    ],
    dtype=np.float64,
)
_DCT32 = _DCT.astype(np.float32)

#: Below this many rows or columns the reference returns an all-zero hash of quality 0.
MIN_HASHABLE_DIM = 5

#: The eight dihedral variants, in the order of Meta's ``pdqDihedralHash256es``.
DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
)


def jarosz_window(dimension: int) -> int:
    """``computeJaroszFilterWindowSize(dimension, 64)`` of the reference."""
    return (dimension + 2 * 64 - 1) // (2 * 64)


# The dense operators (64 x n) are big for big pictures and only needed to derive the banded ones
# (cached by :func:`band_operator`), so only a few are kept.
@lru_cache(maxsize=4)
def _full_operator(n: int) -> npt.NDArray[np.float64]:
    """The 64 x n matrix that blurs (2 Jarosz passes) and decimates one axis at full resolution."""
    full = jarosz_window(n)
    half = (full + 2) // 2
    idx = np.arange(n)
    lo = np.clip(idx - (full - half), 0, n - 1)
    hi = np.clip(idx + half - 1, 0, n - 1)
    count = (hi - lo + 1).astype(np.float64)

    # Row ``s`` of B @ B for each sample s, where B is the clipped box-mean matrix. Row s of B is
    # uniform on [lo[s], hi[s]]; multiplying by B again spreads each of those entries over its own
    # window, which a difference array does in one pass.
    samples = (((np.arange(64) + 0.5) * n) / 64).astype(np.int64)
    offsets = np.arange(full + 1)
    js = lo[samples][:, None] + offsets[None, :]  # the window of each sample's first pass
    valid = offsets[None, :] < count[samples][:, None].astype(np.int64)
    js = np.where(valid, js, 0)
    weights = np.where(valid, (1.0 / count[samples])[:, None] / count[js], 0.0)
    k = np.broadcast_to(np.arange(64)[:, None], js.shape)
    diff = np.zeros((64, n + 1), dtype=np.float64)
    np.add.at(diff, (k, lo[js]), weights)
    np.add.at(diff, (k, hi[js] + 1), -weights)
    rows = np.cumsum(diff, axis=1)[:, :n]
    rows[np.abs(rows) < 1e-12] = 0.0  # cumsum leaves rounding dust where the tent is zero
    rows.flags.writeable = False
    return rows


@lru_cache(maxsize=16)
def sampling_operator(n: int, scale: int = 1, reverse: bool = False) -> FloatArray:
    """The 64 x ceil(n/scale) matrix that blurs (2 Jarosz passes) and decimates one axis.

    ``n`` is the axis length at full resolution; ``scale`` the reduction of the luma plane the
    operator is applied to. ``reverse``: the operator of the mirrored axis (what the picture
    flipped along this axis gives), applied to the plane as it is.
    """
    rows = _full_operator(n)
    if reverse:
        rows = rows[:, ::-1]
    if scale > 1:
        reduced = -(-n // scale)
        rows = np.add.reduceat(rows, np.arange(0, n, scale), axis=1)
        assert rows.shape[1] == reduced
    return np.ascontiguousarray(rows, dtype=np.float32)


def block_mean(luma: FloatArray, scale: int) -> FloatArray:
    """Mean over ``scale x scale`` blocks (partial blocks at the edges averaged over what is there)."""
    if scale == 1:
        return luma
    h, w = luma.shape
    rows = np.arange(0, h, scale)
    cols = np.arange(0, w, scale)
    sums = np.add.reduceat(np.add.reduceat(luma, rows, axis=0), cols, axis=1)
    rh = np.minimum(rows + scale, h) - rows
    cw = np.minimum(cols + scale, w) - cols
    means: FloatArray = (sums / np.outer(rh, cw)).astype(np.float32)
    return means


@lru_cache(maxsize=1024)
def band_operator(
    n: int, scale: int = 1, reverse: bool = False
) -> tuple[npt.NDArray[np.int64], FloatArray, int]:
    """:func:`sampling_operator` as bands: each of the 64 rows is non-zero on a short run only.

    Returns (start of each run, the runs' weights padded to one width, the reduced length).
    """
    dense = sampling_operator(n, scale, reverse)
    nz = dense != 0
    first = nz.argmax(axis=1)
    last = dense.shape[1] - 1 - nz[:, ::-1].argmax(axis=1)
    width = int((last - first).max()) + 1
    start = np.minimum(first, dense.shape[1] - width).astype(np.int64)
    weights = np.zeros((64, width), dtype=np.float32)
    for i in range(64):
        weights[i] = dense[i, start[i] : start[i] + width]
    return start, weights, dense.shape[1]


@njit(cache=True, nogil=True)
def _apply_bands(
    luma: Any, r_start: Any, r_w: Any, c_start: Any, c_w: Any
) -> Any:  # pragma: no cover - jitted
    width = luma.shape[1]
    tmp = np.zeros((64, width), np.float64)
    for i in range(64):
        s = r_start[i]
        for j in range(r_w.shape[1]):
            wgt = np.float64(r_w[i, j])
            if wgt == 0.0:
                continue
            row = luma[s + j]
            for x in range(width):
                tmp[i, x] += wgt * np.float64(row[x])
    out = np.empty((64, 64), np.float32)
    for i in range(64):
        for y in range(64):
            s = c_start[y]
            acc = 0.0
            for j in range(c_w.shape[1]):
                acc += np.float64(c_w[y, j]) * tmp[i, s + j]
            out[i, y] = np.float32(acc)
    return out


@njit(cache=True, nogil=True)
def _dct16(a: Any, d: Any) -> Any:  # pragma: no cover - jitted
    t = np.zeros((16, 64), np.float64)
    for i in range(16):
        for k in range(64):
            dik = np.float64(d[i, k])
            for j in range(64):
                t[i, j] += dik * a[k, j]
    out = np.empty((16, 16), np.float32)
    for i in range(16):
        for j in range(16):
            acc = 0.0
            for k in range(64):
                acc += t[i, k] * np.float64(d[j, k])
            out[i, j] = np.float32(acc)
    return out


def downsample64(
    luma: npt.NDArray[Any],
    full_height: int,
    full_width: int,
    scale: int,
    *,
    flip_rows: bool = False,
    flip_cols: bool = False,
) -> FloatArray:
    """The reference's 64x64 blurred, decimated buffer, from a luma plane at ``1/scale``.

    The plane may be float or integer (a video's 8- or 16-bit Y plane is read as it is). A numba
    kernel over the band operators: no BLAS, so no thread pools to fight over when every core is
    already busy hashing or decoding. ``flip_rows`` / ``flip_cols``: the buffer of the picture
    turned upside down / mirrored left to right, from the plane as it is.
    """
    r_start, r_w, r_len = band_operator(full_height, scale, flip_rows)
    c_start, c_w, c_len = band_operator(full_width, scale, flip_cols)
    if r_len != luma.shape[0] or c_len != luma.shape[1]:
        raise ValueError(f"luma plane {luma.shape} does not fit {full_height}x{full_width} at 1/{scale}")
    out: FloatArray = _apply_bands(np.ascontiguousarray(luma), r_start, r_w, c_start, c_w)
    return out


def quality(buffer64: FloatArray) -> int:
    """``pdqImageDomainQualityMetric``: sum of quantised gradients, scaled to 0..100."""
    b = buffer64.astype(np.float32)
    dv = np.trunc((b[:-1, :] - b[1:, :]) * np.float32(100) / np.float32(255)).astype(np.int64)
    dh = np.trunc((b[:, :-1] - b[:, 1:]) * np.float32(100) / np.float32(255)).astype(np.int64)
    total = int(np.abs(dv).sum() + np.abs(dh).sum())
    return min(total // 90, 100)


def dct16(buffer64: FloatArray) -> FloatArray:
    """The 16x16 DCT coefficients 1..16 x 1..16 (``dct64To16``)."""
    out: FloatArray = _dct16(np.ascontiguousarray(buffer64, dtype=np.float32), _DCT32)
    return out


def bits_to_hex(coeffs: FloatArray) -> str:
    """Threshold at the median and write 64 hex digits, most significant bit first.

    Bit k (k = 16*row + column) of Meta's Hash256 is set when coefficient k exceeds the median;
    the hex string starts with bit 255, as python-threatexchange writes it.
    """
    flat = coeffs.reshape(-1)
    median = np.median(flat)
    bits = (flat > median)[::-1]
    return np.packbits(bits).tobytes().hex()


def hash_from_buffer64(buffer64: FloatArray) -> tuple[str, int]:
    """(hash, quality) of the 64x64 buffer."""
    return bits_to_hex(dct16(buffer64)), quality(buffer64)


def dihedral_hashes(
    luma: npt.NDArray[Any],
    full_height: int,
    full_width: int,
    scale: int,
    buffer64: FloatArray | None = None,
) -> dict[str, str]:
    """The hashes of the 8 rotations and mirror images of the picture, as hashing the transformed
    pixels gives them (``DIHEDRAL_NAMES`` order; ``buffer64``: the plane's own buffer, if known).

    Four buffers (as it is, upside down, mirrored, both) from mirrored sampling operators; the
    other four are their transposes, which is what transposing the picture does to the buffer.
    """
    b = downsample64(luma, full_height, full_width, scale) if buffer64 is None else buffer64
    rows = downsample64(luma, full_height, full_width, scale, flip_rows=True)
    cols = downsample64(luma, full_height, full_width, scale, flip_cols=True)
    both = downsample64(luma, full_height, full_width, scale, flip_rows=True, flip_cols=True)
    buffers = {
        "original": b,
        "rotate90": cols.T,
        "rotate180": both,
        "rotate270": rows.T,
        "flipx": rows,
        "flipy": cols,
        "flipplus1": b.T,
        "flipminus1": both.T,
    }
    return {name: bits_to_hex(dct16(buffers[name])) for name in DIHEDRAL_NAMES}


# --- hash-only dihedral approximation --------------------------------------------------------


def _bit_matrix(hex_value: str) -> npt.NDArray[np.bool_]:
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(hex_value), dtype=np.uint8)).astype(bool)
    return bits[::-1].reshape(16, 16)  # back to k = 16*row + column


def _matrix_hex(matrix: npt.NDArray[np.bool_]) -> str:
    return np.packbits(matrix.reshape(-1)[::-1]).tobytes().hex()


def approximate_dihedral(hex_value: str) -> dict[str, str]:
    """Dihedral variants of a bare hash, when the image is not at hand.

    Transposes are exact on the bits. A negated coefficient is approximated by flipping its bit,
    which is right whenever the coefficient's sign and its side of the median agree (PDQ's median
    is close to zero). Measured on the corpus (docs/signals.md) it is a mean 10 bits and up to
    102 bits from the hash of the transformed picture: use :func:`dihedral_hashes` whenever the
    picture is at hand.
    """
    m = _bit_matrix(hex_value)
    i = np.arange(16)[:, None]
    j = np.arange(16)[None, :]
    neg_j_even = np.broadcast_to((j & 1) == 0, (16, 16))
    neg_i_even = np.broadcast_to((i & 1) == 0, (16, 16))
    neg_ij_odd = ((i + j) & 1) == 1
    flip_j = np.where(neg_j_even, ~m, m)
    flip_i = np.where(neg_i_even, ~m, m)
    flip_ij = np.where(neg_ij_odd, ~m, m)
    variants = {
        "original": m,
        "rotate90": flip_j.T,
        "rotate180": flip_ij,
        "rotate270": flip_i.T,
        "flipx": flip_i,
        "flipy": flip_j,
        "flipplus1": m.T,
        "flipminus1": flip_ij.T,
    }
    return {name: _matrix_hex(v) for name, v in variants.items()}
