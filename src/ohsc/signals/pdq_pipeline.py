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

from ohsc.errors import DecodeBusyError, ImageDecodeError, ImageTooLargeError, InvalidSignalError
from ohsc.signals import pdq_math
from ohsc.signals.budget import DecodeLimits, reserve
from ohsc.signals.images import JPEG_FORMATS, ImageSource, load, luma_f32, open_image, reference_array
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
    limits: DecodeLimits | None = None,
) -> PdqHash:
    """PDQ of an opened (lazy) Pillow image. Raises :class:`ImageDecodeError` for bad pixels, and
    with ``limits`` :class:`ImageTooLargeError` or :class:`DecodeBusyError` before decoding what
    would take more memory than they allow.

    Fast mode falls back to exact mode for pictures whose reduced plane is unstable; a JPEG
    already decoded at reduced scale is opened again with ``reopen`` for that (without it, or when
    ``limits`` do not allow the full-size decode, the reduced-scale hash is kept: :func:`hash_source`
    always passes a ``reopen``).
    """
    return _hash(im, mode, dihedral, force_rgb, reopen, limits, owned=False)


def hash_source(
    source: ImageSource,
    *,
    max_pixels: int,
    mode: HashMode = "fast",
    dihedral: bool = False,
    force_rgb: bool = False,
    limits: DecodeLimits | None = None,
) -> PdqHash:
    im = open_image(source, max_pixels)
    try:
        return _hash(im, mode, dihedral, force_rgb, _reopener(source, max_pixels), limits, owned=True)
    finally:
        im.close()


def _hash(
    im: Image.Image,
    mode: HashMode,
    dihedral: bool,
    force_rgb: bool,
    reopen: Reopen | None,
    limits: DecodeLimits | None,
    *,
    owned: bool,
) -> PdqHash:
    """Hash ``im`` within ``limits``; an ``owned`` image is closed (its pixels freed) before the
    memory reserved for it is given back."""
    if mode not in ("fast", "exact"):
        raise InvalidSignalError(f"unknown hash mode {mode!r}: use 'fast' or 'exact'")
    width, height = im.size
    if mode == "exact" or min(width, height) < pdq_math.MIN_HASHABLE_DIM:
        return _exact_within(im, dihedral, force_rgb, limits, owned=owned)
    scale = _reduce(im, force_rgb)
    with reserve(
        limits, im.size[0] * im.size[1], decode_cost(im, fast=True, scale=scale, full_size=(width, height))
    ):
        fast = _fast(im, dihedral, force_rgb, (width, height), scale)
        if isinstance(fast, PdqHash) and owned:
            im.close()
    if isinstance(fast, PdqHash):
        return fast
    # fine detail: the full-size picture, hashed exactly (the reduced hash when that is not allowed)
    try:
        if scale == 1:
            return _exact_within(im, dihedral, force_rgb, limits, owned=owned)
        if reopen is None:
            return fast.reduced
        full = reopen()
        try:
            return _exact_within(full, dihedral, force_rgb, limits, owned=True)
        finally:
            full.close()
    except (ImageTooLargeError, DecodeBusyError):
        return fast.reduced


def _exact_within(
    im: Image.Image, dihedral: bool, force_rgb: bool, limits: DecodeLimits | None, *, owned: bool
) -> PdqHash:
    size = im.size
    with reserve(limits, size[0] * size[1], decode_cost(im, fast=False, scale=1, full_size=size)):
        try:
            return _exact(im, dihedral, force_rgb)
        finally:
            if owned:
                im.close()  # the decoded pixels go before the reservation does


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


# --- what decoding costs -----------------------------------------------------------------------

#: fast mode decodes pictures that JPEG cannot reduce in strips of about this many pixels
STRIP_PIXELS = 1 << 20
#: bytes per pixel of a strip held at once: the crop, its array, float luma terms, block sums
_STRIP_BYTES = 32
#: bytes per pixel of exact mode besides Pillow's image: the array handed to ``pdqhash`` (up to 4),
#: a conversion to RGB (4), the 3-channel copy of a greyscale plane (3), and ``pdqhash``'s own
#: float64 luma terms, float32 luma and blur buffer (24, measured)
_EXACT_BYTES = 4 + 4 + 3 + 24
#: a progressive JPEG keeps every DCT coefficient of the full-size picture (2 bytes, 3 components)
_PROGRESSIVE_BYTES = 6
#: the decoder's and hashing's own buffers, whatever the size (measured: 13-14 MiB)
_FIXED_BYTES = 16 << 20
#: headroom on what scales with the picture (measured peaks reach the sums above)
_MARGIN = 1.1


def _pillow_bytes(mode: str) -> int:
    """Bytes per pixel of Pillow's own image of ``mode``."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def decode_cost(im: Image.Image, *, fast: bool, scale: int, full_size: tuple[int, int]) -> int:
    """Peak bytes decoding and hashing ``im`` will hold (an estimate from its header, erring high).

    ``im`` is prepared (reduced by ``scale`` where the format allows it); ``full_size`` is its
    size before."""
    return _FIXED_BYTES + int(_pixel_bytes(im, fast=fast, scale=scale, full_size=full_size) * _MARGIN)


def _pixel_bytes(im: Image.Image, *, fast: bool, scale: int, full_size: tuple[int, int]) -> int:
    width, height = im.size
    pixels = width * height
    cost = pixels * _pillow_bytes(im.mode)
    if im.format in JPEG_FORMATS and im.info.get("progressive"):
        cost += full_size[0] * full_size[1] * _PROGRESSIVE_BYTES
    if not fast:
        return cost + pixels * _EXACT_BYTES
    if scale > 1:  # reduced decode: the whole (small) plane as float luma
        return cost + pixels * _STRIP_BYTES
    block = max(1, min(width, height) // FAST_MIN_SIDE)
    strip = min(pixels, STRIP_PIXELS + width * block)
    reduced = -(-width // block) * -(-height // block)
    return cost + strip * _STRIP_BYTES + reduced * 4 + 64 * -(-width // block) * 8


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


def _reduce(im: Image.Image, force_rgb: bool) -> int:
    """Decode JPEGs at reduced DCT scale (Pillow ``draft``); the reduction (1: none)."""
    width, height = im.size
    if im.format not in JPEG_FORMATS or min(width, height) < 2 * FAST_MIN_SIDE:
        return 1
    if im.mode in ("RGB", "L", "YCbCr") or (force_rgb and im.mode != "CMYK"):
        # JFIF's Y channel is the reference's luma formula: decode it alone, at reduced scale.
        im.draft("L", (FAST_MIN_SIDE, FAST_MIN_SIDE))
    else:
        im.draft(im.mode, (FAST_MIN_SIDE, FAST_MIN_SIDE))
    w, h = im.size
    scale = round(width / w)
    if scale < 1 or -(-width // scale) != w or -(-height // scale) != h:
        raise ImageDecodeError(f"unexpected reduced JPEG size {w}x{h} for {width}x{height}")
    return scale


def _fast(
    im: Image.Image, dihedral: bool, force_rgb: bool, full_size: tuple[int, int], scale: int
) -> PdqHash | _Unstable:
    """The reduced-scale hash; :class:`_Unstable` when fine detail makes it unreliable."""
    width, height = full_size
    if scale > 1:
        luma = luma_f32(reference_array(im, force_rgb))
    else:
        scale = max(1, min(width, height) // FAST_MIN_SIDE)
        luma = _block_means(im, scale, force_rgb)
    buffer64 = pdq_math.downsample64(luma, height, width, scale)
    hex_value, q = pdq_math.hash_from_buffer64(buffer64)
    variants = pdq_math.dihedral_hashes(luma, height, width, scale, buffer64) if dihedral else None
    reduced = PdqHash(hex_value, q, variants)
    if scale > 1 and _unstable(luma, height, width, scale, hex_value):
        return _Unstable(reduced)
    return reduced


def _block_means(im: Image.Image, block: int, force_rgb: bool) -> npt.NDArray[np.float32]:
    """Luma means over ``block x block`` blocks, computed strip by strip (strips of whole blocks, so
    every block sees the same pixels in the same order as from the whole plane: bit-identical)."""
    width, height = im.size
    rows = block * max(1, STRIP_PIXELS // (width * block))
    if rows >= height:
        return pdq_math.block_mean(luma_f32(reference_array(im, force_rgb)), block)
    load(im)
    out = np.empty((-(-height // block), -(-width // block)), dtype=np.float32)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        strip = luma_f32(reference_array(im.crop((0, top, width, bottom)), force_rgb))
        out[top // block : -(-bottom // block)] = pdq_math.block_mean(strip, block)
    return out


def _unstable(luma: npt.NDArray[np.float32], height: int, width: int, scale: int, hex_value: str) -> bool:
    """Does the hash move when the reduced plane is averaged 2x2 once more? Fine detail near
    PDQ's cut-off (text, noise, stripes, grids) does; photos almost never (docs/benchmarks.md)."""
    coarser = pdq_math.downsample64(pdq_math.block_mean(luma, 2), height, width, 2 * scale)
    other, _q = pdq_math.hash_from_buffer64(coarser)
    return PdqSignal.distance(hex_value, other) > FAST_CHECK_MAX_BITS
