"""PDQ's 64x64 buffer straight from a video frame's Y plane, without BLAS.

The blur-and-sample step is :func:`ohsc.signals.pdq_math.downsample64` (band operators applied
by a numba kernel that reads the 8- or 16-bit plane as it is: no float copy of the frame, no BLAS
thread pool competing with the decoder). This module adds the frame variants matching compares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ohsc.signals import pdq_math


def buffer64(
    plane: npt.NDArray[Any], full_height: int, full_width: int, scale: int = 1, gain: float = 1.0
) -> npt.NDArray[np.float32]:
    """The reference's blurred, decimated 64x64 buffer of a luma plane (any integer or float
    dtype) of a ``full_height x full_width`` frame decoded at ``1/scale``."""
    out = pdq_math.downsample64(plane, full_height, full_width, scale)
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
        hex_value, quality = pdq_math.hash_from_buffer64(buffer64(crop, ch, cw, 1, gain))
        if quality >= quality_min:
            out[hex_value] = None
    return tuple(out)
