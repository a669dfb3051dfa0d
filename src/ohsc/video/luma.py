"""PDQ's 64x64 buffer straight from a video frame's Y plane, without BLAS.

PDQ blurs the full-resolution luma with two Jarosz box passes and samples a 64x64 grid; per
axis that is one 64 x n matrix (:func:`ohsc.signals.pdq_math.sampling_operator`) whose rows are
narrow bands (about ``2 * n / 64`` taps). Applying the bands directly costs about
``height * 64 * taps`` multiply-adds (under a million for 720p): around a millisecond in a numba
kernel that reads the 8- or 16-bit plane as it is, with no float copy of the frame and no BLAS
thread pool competing with the decoder.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from ohsc.signals import pdq_math

Bands = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]


@lru_cache(maxsize=256)
def bands(n: int, scale: int = 1) -> Bands:
    """The sampling operator of an axis of ``n`` pixels, applied to a plane decoded at
    ``1/scale``, as (first tap, weights) per sample."""
    dense = pdq_math.sampling_operator(n, scale)
    n = dense.shape[1]
    # the true operator is exactly zero outside the band; cumsum leaves ~1e-17 residue there
    nz = np.abs(dense) > 1e-7 * np.abs(dense).max(axis=1, keepdims=True)
    first = nz.argmax(axis=1)
    last = n - 1 - nz[:, ::-1].argmax(axis=1)
    width = int((last - first).max()) + 1
    starts = np.minimum(first, n - width).astype(np.int64)
    weights = np.zeros((64, width), dtype=np.float32)
    for i in range(64):
        weights[i] = dense[i, starts[i] : starts[i] + width]
    return starts, weights


@njit(cache=True, nogil=True)
def _apply(
    plane: Any,
    row_starts: Any,
    row_weights: Any,
    col_starts: Any,
    col_weights: Any,
) -> Any:  # pragma: no cover - compiled
    h = plane.shape[0]
    kc = col_weights.shape[1]
    kr = row_weights.shape[1]
    across = np.zeros((h, 64), dtype=np.float64)
    for r in range(h):
        for j in range(64):
            s = col_starts[j]
            acc = 0.0
            for k in range(kc):
                acc += col_weights[j, k] * plane[r, s + k]
            across[r, j] = acc
    out = np.zeros((64, 64), dtype=np.float32)
    for i in range(64):
        s = row_starts[i]
        for j in range(64):
            acc = 0.0
            for k in range(kr):
                acc += row_weights[i, k] * across[s + k, j]
            out[i, j] = acc
    return out


def buffer64(
    plane: npt.NDArray[Any], full_height: int, full_width: int, scale: int = 1, gain: float = 1.0
) -> npt.NDArray[np.float32]:
    """The reference's blurred, decimated 64x64 buffer of a luma plane (any integer or float
    dtype) of a ``full_height x full_width`` frame decoded at ``1/scale``."""
    rs, rw = bands(full_height, scale)
    cs, cw = bands(full_width, scale)
    if plane.shape != (-(-full_height // scale), -(-full_width // scale)):
        raise ValueError(f"plane {plane.shape} does not fit {full_height}x{full_width} at 1/{scale}")
    out: npt.NDArray[np.float32] = _apply(plane, rs, rw, cs, cw)
    if gain != 1.0:
        out *= np.float32(gain)
    return out


# --- variants: what matching compares besides the frame itself -------------------------------

#: Centre crops hashed next to each frame (the share of width and height kept). A copy cropped
#: by 5 or 10% matches the 95% or 90% crop of the original; a corner logo falls outside 80%.
VARIANT_CROPS = (0.95, 0.90, 0.80)
#: A border is a run of rows (columns) this uniform: luma standard deviation below this.
_FLAT_STD = 6.0
#: ... whose mean stays within this of the outermost row's (a bar has one colour).
_BAR_MEAN = 12.0


def _edge_run(means: npt.NDArray[np.float64], stds: npt.NDArray[np.float64], limit: int) -> int:
    """How many leading entries form a uniform bar (at most ``limit``)."""
    n = 0
    while n < limit and stds[n] < _FLAT_STD and abs(means[n] - means[0]) < _BAR_MEAN:
        n += 1
    return n


def border_box(plane: npt.NDArray[Any]) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the picture inside uniform borders (letterbox, pillarbox,
    padding), or None when there are none worth trimming (under 2% a side) or it is all border."""
    h, w = plane.shape
    a = np.asarray(plane[::2, ::2], dtype=np.float64)
    rows_m, rows_s = a.mean(axis=1), a.std(axis=1)
    cols_m, cols_s = a.mean(axis=0), a.std(axis=0)
    hh, ww = a.shape
    top = _edge_run(rows_m, rows_s, hh // 3)
    bottom = _edge_run(rows_m[::-1], rows_s[::-1], hh // 3)
    left = _edge_run(cols_m, cols_s, ww // 3)
    right = _edge_run(cols_m[::-1], cols_s[::-1], ww // 3)
    if max(top / hh, bottom / hh, left / ww, right / ww) < 0.02:
        return None
    box = (2 * top, h - 2 * bottom, 2 * left, w - 2 * right)
    if box[1] - box[0] < 16 or box[3] - box[2] < 16:
        return None
    return box


def variant_hashes(plane: npt.NDArray[Any], gain: float, quality_min: int) -> tuple[str, ...]:
    """PDQ of the frame's centre crops and of the frame without borders, each kept only when it
    has the detail to match (quality at least ``quality_min``)."""
    h, w = plane.shape
    crops: list[npt.NDArray[Any]] = []
    box = border_box(plane)
    if box is not None:
        crops.append(plane[box[0] : box[1], box[2] : box[3]])
    for keep in VARIANT_CROPS:
        dy, dx = round(h * (1 - keep) / 2), round(w * (1 - keep) / 2)
        crops.append(plane[dy : h - dy, dx : w - dx])
    out: dict[str, None] = {}
    for crop in crops:
        ch, cw = crop.shape
        if min(ch, cw) < pdq_math.MIN_HASHABLE_DIM:
            continue
        hex_value, quality, _ = pdq_math.hash_from_buffer64(buffer64(crop, ch, cw, 1, gain))
        if quality >= quality_min:
            out[hex_value] = None
    return tuple(out)
