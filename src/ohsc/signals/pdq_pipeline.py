"""The PDQ pipelines that turn pixels into hashes (exact and fast); see :mod:`ohsc.signals.pdq`.

Kept apart from the signal type so that comparing or validating PDQ values (banks, matching,
the CLI) does not import numpy, Pillow, numba or Meta's C++.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from ohsc.errors import ImageDecodeError, InvalidSignalError
from ohsc.signals import pdq_math
from ohsc.signals.images import JPEG_FORMATS, ImageSource, luma_f32, open_image, reference_array
from ohsc.signals.pdq import HashMode, PdqHash, PdqSignal

#: Fast mode keeps at least this many pixels on the short side before PDQ's own downsampling.
FAST_MIN_SIDE = 256


#: Fast mode hashes the reduced plane twice (as it is, and averaged 2x2 once more); when the two
#: differ by more than this many bits the picture's fine detail makes reduced-scale hashing
#: unreliable and the full-size picture is hashed exactly (docs/signals.md, docs/benchmarks.md).
FAST_CHECK_MAX_BITS = 8

Reopen = Callable[[], Image.Image]


def hash_image(
    im: Image.Image,
    *,
    mode: HashMode = "fast",
    dihedral: bool = False,
    force_rgb: bool = False,
    reopen: Reopen | None = None,
) -> PdqHash:
    """PDQ of an opened (lazy) Pillow image. Raises :class:`ImageDecodeError` for bad pixels.

    Fast mode falls back to exact mode for pictures whose reduced plane is unstable; a JPEG
    already decoded at reduced scale is opened again with ``reopen`` for that (without it, the
    reduced-scale hash is kept: :func:`hash_source` always passes one).
    """
    if mode == "exact":
        return _exact(im, dihedral, force_rgb)
    if mode == "fast":
        fast = _fast(im, dihedral, force_rgb)
        if isinstance(fast, PdqHash):
            return fast
        if reopen is None:
            return fast.reduced
        full = reopen()
        try:
            return _exact(full, dihedral, force_rgb)
        finally:
            full.close()
    raise InvalidSignalError(f"unknown hash mode {mode!r}: use 'fast' or 'exact'")


def hash_source(
    source: ImageSource,
    *,
    max_pixels: int,
    mode: HashMode = "fast",
    dihedral: bool = False,
    force_rgb: bool = False,
) -> PdqHash:
    im = open_image(source, max_pixels)
    try:
        return hash_image(
            im,
            mode=mode,
            dihedral=dihedral,
            force_rgb=force_rgb,
            reopen=_reopener(source, max_pixels),
        )
    finally:
        im.close()


def _reopener(source: ImageSource, max_pixels: int) -> Reopen | None:
    if isinstance(source, bytes | Path):
        return lambda: open_image(source, max_pixels)
    if source.seekable():
        start = source.tell()

        def reopen() -> Image.Image:
            source.seek(start)
            return open_image(source, max_pixels)

        return reopen
    return None


def _vector_hex(vector: npt.ArrayLike) -> str:
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def _exact(im: Image.Image, dihedral: bool, force_rgb: bool) -> PdqHash:
    arr = reference_array(im, force_rgb)
    if arr.ndim == 2:
        arr = np.concatenate([arr[..., np.newaxis]] * 3, axis=2)
    arr = np.ascontiguousarray(arr)
    try:
        vector, q = pdqhash.compute(arr)
    except (ValueError, TypeError) as exc:  # pragma: no cover - reference_array guards the dtype
        raise ImageDecodeError(f"PDQ could not take this image: {exc}") from exc
    hex_value = _vector_hex(vector)
    if not dihedral:
        return PdqHash(hex_value, int(q))
    height, width = arr.shape[:2]
    if min(height, width) < pdq_math.MIN_HASHABLE_DIM:
        return PdqHash(hex_value, int(q), dict.fromkeys(pdq_math.DIHEDRAL_NAMES, hex_value))
    # the transformed pictures' hashes, computed as pdqhash computes them (bit for bit at full scale)
    variants = pdq_math.dihedral_hashes(luma_f32(arr), height, width, 1)
    variants["original"] = hex_value
    return PdqHash(hex_value, int(q), variants)


@dataclass(frozen=True, slots=True)
class _Unstable:
    """Fast mode's verdict on a picture it decoded at reduced scale and found unstable."""

    reduced: PdqHash


def _fast(im: Image.Image, dihedral: bool, force_rgb: bool) -> PdqHash | _Unstable:
    width, height = im.size
    if width < pdq_math.MIN_HASHABLE_DIM or height < pdq_math.MIN_HASHABLE_DIM:
        return _exact(im, dihedral, force_rgb)
    scale = 1
    drafted = False
    if im.format in JPEG_FORMATS and min(width, height) >= 2 * FAST_MIN_SIDE:
        if im.mode in ("RGB", "L", "YCbCr") or (force_rgb and im.mode != "CMYK"):
            # JFIF's Y channel is the reference's luma formula: decode it alone, at reduced scale.
            im.draft("L", (FAST_MIN_SIDE, FAST_MIN_SIDE))
        else:
            im.draft(im.mode, (FAST_MIN_SIDE, FAST_MIN_SIDE))
        w, h = im.size
        scale = round(width / w)
        drafted = scale > 1
        if scale < 1 or -(-width // scale) != w or -(-height // scale) != h:
            raise ImageDecodeError(f"unexpected reduced JPEG size {w}x{h} for {width}x{height}")
    luma = luma_f32(reference_array(im, force_rgb))
    if scale == 1:
        scale = max(1, min(width, height) // FAST_MIN_SIDE)
        luma = pdq_math.block_mean(luma, scale)
    buffer64 = pdq_math.downsample64(luma, height, width, scale)
    hex_value, q = pdq_math.hash_from_buffer64(buffer64)
    unstable = scale > 1 and _unstable(luma, height, width, scale, hex_value)
    if unstable and not drafted:
        return _exact(im, dihedral, force_rgb)  # the full-size pixels are still in memory
    variants = pdq_math.dihedral_hashes(luma, height, width, scale, buffer64) if dihedral else None
    reduced = PdqHash(hex_value, q, variants)
    return _Unstable(reduced) if unstable else reduced


def _unstable(luma: npt.NDArray[np.float32], height: int, width: int, scale: int, hex_value: str) -> bool:
    """Does the hash move when the reduced plane is averaged 2x2 once more? Fine detail near
    PDQ's cut-off (text, noise, stripes, grids) does; photos almost never (docs/benchmarks.md)."""
    coarser = pdq_math.downsample64(pdq_math.block_mean(luma, 2), height, width, 2 * scale)
    other, _q = pdq_math.hash_from_buffer64(coarser)
    return PdqSignal.distance(hex_value, other) > FAST_CHECK_MAX_BITS
