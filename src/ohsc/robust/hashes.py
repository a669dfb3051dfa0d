"""PDQ-style hashes of views of the working plane (PDQ's DCT and median threshold on a 64x64
area-averaged buffer): cheap enough to hash a dozen views of one picture.

Index views describe parts of the bank picture that a copy may show on its own; query views undo
what a copy may have added (a caption bar, a small rotation, a mirror image).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ohsc.robust.planes import Box, Grey
from ohsc.signals.pdq_math import dct16

HASH_BYTES = 32

#: Index views: name -> (left, top, right, bottom) shares of the content box to cut away.
INDEX_VIEWS: dict[str, tuple[float, float, float, float]] = {
    "trimmed": (0.0, 0.0, 0.0, 0.0),
    "centre90": (0.05, 0.05, 0.05, 0.05),
    "centre80": (0.10, 0.10, 0.10, 0.10),
    "no-left": (0.20, 0.0, 0.0, 0.0),
    "no-top": (0.0, 0.20, 0.0, 0.0),
    "no-right": (0.0, 0.0, 0.20, 0.0),
    "no-bottom": (0.0, 0.0, 0.0, 0.20),
}
INDEX_VIEW_NAMES = tuple(INDEX_VIEWS)

#: Query rotations tried (degrees), compared with the bank picture's ``centre80`` view.
ROTATIONS = (-5.0, -2.0, 2.0, 5.0)
#: Query views: the content box, its mirror image, less a caption bar, turned back.
QUERY_VIEW_NAMES = (
    "trimmed",
    "mirror",
    "no-top",
    "no-bottom",
    *(f"rotate{a:+g}" for a in ROTATIONS),
)


def hash_buffer(view: Grey) -> bytes:
    """32 bytes: PDQ's 16x16 DCT of a 64x64 area-averaged buffer, thresholded at the median."""
    small = cv2.resize(view, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    coeffs = dct16(small).reshape(-1)
    bits = coeffs > np.median(coeffs)
    return np.packbits(bits).tobytes()


def view_region(view: int) -> tuple[float, float, float, float]:
    """The share of the content box (x0, y0, x1, y1) that index view number ``view`` shows."""
    left, top, right, bottom = INDEX_VIEWS[INDEX_VIEW_NAMES[view]]
    return (left, top, 1 - right, 1 - bottom)


def _cut(plane: Grey, box: Box, shares: tuple[float, float, float, float]) -> Grey:
    left, top, right, bottom = shares
    x0 = box.x0 + round(box.width * left)
    x1 = box.x1 - round(box.width * right)
    y0 = box.y0 + round(box.height * top)
    y1 = box.y1 - round(box.height * bottom)
    return plane[y0:y1, x0:x1]


def index_hashes(plane: Grey, box: Box) -> npt.NDArray[np.uint8]:
    """One row of HASH_BYTES per :data:`INDEX_VIEWS` entry."""
    return np.frombuffer(
        b"".join(hash_buffer(_cut(plane, box, shares)) for shares in INDEX_VIEWS.values()), np.uint8
    ).reshape(len(INDEX_VIEWS), HASH_BYTES)


#: A caption bar: rows from the top (or bottom) edge of the bar's colour, where text may cover
#: up to 1 - :data:`BAR_TEXT_SHARE` of a row; it ends with a row that is :data:`BAR_EDGE_SHARE` bar
#: colour, at least :data:`BAR_MIN` and at most :data:`BAR_MAX` of the height from the edge.
BAR_TEXT_SHARE = 0.25
BAR_EDGE_SHARE = 0.9
BAR_MIN = 0.06
BAR_MAX = 0.4
#: Without a bar, the query less this share of its height is tried.
BAR_DEFAULT = 0.2


def _bar(plane: Grey) -> int:
    h: int = plane.shape[0]
    p = plane[: int(h * BAR_MAX)].astype(np.int16)
    colour = int(np.median(p[0]))
    share = (np.abs(p - colour) <= 24).mean(axis=1)
    inside = share >= BAR_TEXT_SHARE
    reach = len(share) if inside.all() else int(np.argmin(inside))  # rows before the first non-bar row
    edges = np.flatnonzero(share[:reach] >= BAR_EDGE_SHARE)
    if len(edges) and edges[-1] + 1 >= h * BAR_MIN:
        return int(edges[-1]) + 1
    return round(h * BAR_DEFAULT)


def caption_bars(plane: Grey) -> tuple[int, int]:
    """Rows to cut at the top and at the bottom to drop a caption bar (a guess when none is seen)."""
    return _bar(plane), _bar(plane[::-1])


def rotated(view: Grey, degrees: float) -> Grey:
    """``view`` turned by ``degrees`` (counter-clockwise) about its centre, same size."""
    h, w = view.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    out: Grey = np.asarray(
        cv2.warpAffine(view, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT), np.uint8
    )
    return out


#: Views are turned at this size (the longer side, pixels): four turns of a 512-pixel plane cost
#: more than the rest of the query's views together.
ROTATION_SIDE = 192


def _shrunk(view: Grey, side: int) -> Grey:
    h, w = view.shape
    scale = side / max(h, w)
    if scale >= 1:
        return view
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out: Grey = np.asarray(cv2.resize(view, size, interpolation=cv2.INTER_AREA), np.uint8)
    return out


def query_hashes(plane: Grey, box: Box) -> npt.NDArray[np.uint8]:
    """One row per :data:`QUERY_VIEW_NAMES` entry."""
    view = box.crop(plane)
    top, bottom = caption_bars(plane)
    views = [view, view[:, ::-1], plane[top:], plane[: plane.shape[0] - bottom]]
    # turned back, then the centre 80% (what a rotation leaves of the bank picture's centre80);
    # turned at :data:`ROTATION_SIDE` pixels: the hash sees 64x64 of it
    small = _shrunk(np.ascontiguousarray(view), ROTATION_SIDE)
    for angle in ROTATIONS:
        turned = rotated(small, -angle)
        views.append(_cut(turned, Box(0, 0, turned.shape[1], turned.shape[0]), (0.1, 0.1, 0.1, 0.1)))
    return np.frombuffer(b"".join(hash_buffer(np.ascontiguousarray(v)) for v in views), np.uint8).reshape(
        len(views), HASH_BYTES
    )
