"""The PDQ pipelines that turn pixels into hashes (exact and fast); see :mod:`ohsc.signals.pdq`.

Kept apart from the signal type so that comparing or validating PDQ values (banks, matching,
the CLI) does not import numpy, Pillow, numba or Meta's C++.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from ohsc.errors import ImageDecodeError, InvalidSignalError
from ohsc.signals import pdq_math
from ohsc.signals.images import JPEG_FORMATS, ImageSource, luma_f32, open_image, reference_array
from ohsc.signals.pdq import HashMode, PdqHash

#: Fast mode keeps at least this many pixels on the short side before PDQ's own downsampling.
FAST_MIN_SIDE = 256


def hash_image(
    im: Image.Image, *, mode: HashMode = "fast", dihedral: bool = False, force_rgb: bool = False
) -> PdqHash:
    """PDQ of an opened (lazy) Pillow image. Raises :class:`ImageDecodeError` for bad pixels."""
    if mode == "exact":
        return _exact(im, dihedral, force_rgb)
    if mode == "fast":
        return _fast(im, dihedral, force_rgb)
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
        return hash_image(im, mode=mode, dihedral=dihedral, force_rgb=force_rgb)
    finally:
        im.close()


def _vector_hex(vector: npt.ArrayLike) -> str:
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def _exact(im: Image.Image, dihedral: bool, force_rgb: bool) -> PdqHash:
    arr = reference_array(im, force_rgb)
    if arr.ndim == 2:
        arr = np.concatenate([arr[..., np.newaxis]] * 3, axis=2)
    arr = np.ascontiguousarray(arr)
    try:
        if dihedral:
            vectors, q = pdqhash.compute_dihedral(arr)
            variants = {
                name: _vector_hex(v) for name, v in zip(pdq_math.DIHEDRAL_NAMES, vectors, strict=True)
            }
            return PdqHash(variants["original"], int(q), variants)
        vector, q = pdqhash.compute(arr)
    except (ValueError, TypeError) as exc:  # pragma: no cover - reference_array guards the dtype
        raise ImageDecodeError(f"PDQ could not take this image: {exc}") from exc
    return PdqHash(_vector_hex(vector), int(q))


def _fast(im: Image.Image, dihedral: bool, force_rgb: bool) -> PdqHash:
    width, height = im.size
    if width < pdq_math.MIN_HASHABLE_DIM or height < pdq_math.MIN_HASHABLE_DIM:
        return _exact(im, dihedral, force_rgb)
    scale = 1
    if im.format in JPEG_FORMATS and min(width, height) >= 2 * FAST_MIN_SIDE:
        if im.mode in ("RGB", "L", "YCbCr") or (force_rgb and im.mode != "CMYK"):
            # JFIF's Y channel is the reference's luma formula: decode it alone, at reduced scale.
            im.draft("L", (FAST_MIN_SIDE, FAST_MIN_SIDE))
        else:
            im.draft(im.mode, (FAST_MIN_SIDE, FAST_MIN_SIDE))
        w, h = im.size
        scale = round(width / w)
        if scale < 1 or -(-width // scale) != w or -(-height // scale) != h:
            raise ImageDecodeError(f"unexpected reduced JPEG size {w}x{h} for {width}x{height}")
    luma = luma_f32(reference_array(im, force_rgb))
    if scale == 1:
        scale = max(1, min(width, height) // FAST_MIN_SIDE)
        luma = pdq_math.block_mean(luma, scale)
    buffer64 = pdq_math.downsample64(luma, height, width, scale)
    hex_value, q, variants = pdq_math.hash_from_buffer64(buffer64, dihedral)
    return PdqHash(hex_value, q, variants)
