"""The picture as robust matching sees it: a grey plane of at most :data:`WORK_SIDE` pixels a
side, and the box of its content inside uniform borders."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from ohsc.signals.images import JPEG_FORMATS, ImageSource, load, open_image

Grey = npt.NDArray[np.uint8]

#: The longer side of the working plane (features and hashes are computed there).
WORK_SIDE = 512
#: A row or column is border when this share of its pixels is within :data:`BORDER_TOLERANCE`
#: of the border's colour.
BORDER_SHARE = 0.97
BORDER_TOLERANCE = 18
#: Never trim more than this share of a side (a picture that is mostly flat stays whole).
MAX_TRIM = 0.45
#: Pictures smaller than this (after trimming) are not described.
MIN_SIDE = 32


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in plane pixels: ``[x0, x1) x [y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def crop(self, plane: Grey) -> Grey:
        return plane[self.y0 : self.y1, self.x0 : self.x1]


def grey_plane(im: Image.Image) -> Grey:
    """The working plane of an opened (lazy) Pillow image: luma, longer side <= WORK_SIDE."""
    if im.format in JPEG_FORMATS:
        im.draft("L", (WORK_SIDE, WORK_SIDE))  # DCT scaling: decode at 1/2, 1/4 or 1/8
    load(im)
    if im.mode not in ("L", "RGB"):
        im = im.convert("RGB")
    grey = np.asarray(im.convert("L") if im.mode != "L" else im, dtype=np.uint8)
    return fit(grey)


def fit(grey: Grey) -> Grey:
    """Shrink a grey plane so its longer side is at most WORK_SIDE (area averaging)."""
    h, w = grey.shape
    scale = WORK_SIDE / max(h, w)
    if scale >= 1:
        return np.ascontiguousarray(grey)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out: Grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8)
    return out


def read_plane(source: ImageSource, max_pixels: int) -> Grey:
    im = open_image(source, max_pixels)
    try:
        return grey_plane(im)
    finally:
        im.close()


def _border_run(lines: npt.NDArray[np.int16], limit: int) -> int:
    """How many leading lines (rows of ``lines``) are border of the first line's colour."""
    colour = int(np.median(lines[0]))
    close = np.abs(lines - colour) <= BORDER_TOLERANCE
    uniform = close.mean(axis=1) >= BORDER_SHARE
    n = 0
    while n < limit and uniform[n]:
        n += 1
    return n


def content_box(plane: Grey) -> Box:
    """The box inside uniform borders, letterbox and pillarbox bars (any one colour per side)."""
    h, w = plane.shape
    p = plane.astype(np.int16)
    top = _border_run(p, int(h * MAX_TRIM))
    bottom = _border_run(p[::-1], int(h * MAX_TRIM))
    left = _border_run(p.T, int(w * MAX_TRIM))
    right = _border_run(p.T[::-1], int(w * MAX_TRIM))
    box = Box(left, top, w - right, h - bottom)
    if box.width < MIN_SIDE or box.height < MIN_SIDE:
        return Box(0, 0, w, h)
    return box
