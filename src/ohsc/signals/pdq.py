"""PDQ: Meta's perceptual photo hash, in an exact and a fast pipeline.

* ``exact`` reproduces python-threatexchange bit for bit: Pillow decodes at full resolution and
  Meta's C++ (the ``pdqhash`` package) hashes the array.
* ``fast`` (the default for scans) decodes JPEGs at reduced DCT scale straight to luma (Pillow
  ``draft``), then runs PDQ's own blur-and-sample arithmetic with the weights of the full-size
  image (:mod:`ohsc.signals.pdq_math`). It stays within a few bits of exact mode (the conformance
  bound is 10 for quality >= 80; see docs/benchmarks.md for the measured distribution).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from ohsc.errors import ImageDecodeError, InvalidSignalError
from ohsc.signals import pdq_math
from ohsc.signals.base import HexDigestSignal
from ohsc.signals.budget import DecodeLimits, reserve
from ohsc.signals.images import JPEG_FORMATS, ImageSource, load, luma_f32, open_image, reference_array

HashMode = Literal["fast", "exact"]

#: Fast mode keeps at least this many pixels on the short side before PDQ's own downsampling.
FAST_MIN_SIDE = 256

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class PdqSignal(HexDigestSignal):
    name = "pdq"
    description = "PDQ perceptual photo hash: 256 bits as 64 hex digits, compared by Hamming distance"
    hex_length = 64
    is_distance = True
    max_distance = 256

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        x = np.frombuffer(cls.to_bytes(a), dtype=np.uint8) ^ np.frombuffer(cls.to_bytes(b), dtype=np.uint8)
        return int(_POPCOUNT[x].sum())


@dataclass(frozen=True, slots=True)
class PdqHash:
    hex: str
    quality: int
    #: The 8 rotation/flip variants (``original`` first) when asked for.
    dihedral: dict[str, str] | None = None


ZERO_HASH = "0" * 64


def hash_image(
    im: Image.Image,
    *,
    mode: HashMode = "fast",
    dihedral: bool = False,
    force_rgb: bool = False,
    limits: DecodeLimits | None = None,
) -> PdqHash:
    """PDQ of an opened (lazy) Pillow image. Raises :class:`ImageDecodeError` for bad pixels, and
    with ``limits`` :class:`ImageTooLargeError` or :class:`DecodeBusyError` before decoding what
    would take more memory than they allow."""
    return _hash(im, mode, dihedral, force_rgb, limits, owned=False)


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
        return _hash(im, mode, dihedral, force_rgb, limits, owned=True)
    finally:
        im.close()


def _hash(
    im: Image.Image,
    mode: HashMode,
    dihedral: bool,
    force_rgb: bool,
    limits: DecodeLimits | None,
    *,
    owned: bool,
) -> PdqHash:
    if mode not in ("fast", "exact"):
        raise InvalidSignalError(f"unknown hash mode {mode!r}: use 'fast' or 'exact'")
    width, height = im.size
    fast = mode == "fast" and min(width, height) >= pdq_math.MIN_HASHABLE_DIM
    scale = _reduce(im, force_rgb) if fast else 1
    pixels = im.size[0] * im.size[1]
    with reserve(limits, pixels, decode_cost(im, fast=fast, scale=scale, full_size=(width, height))):
        try:
            if not fast:
                return _exact(im, dihedral, force_rgb)
            return _fast(im, dihedral, force_rgb, (width, height), scale)
        finally:
            if owned:
                im.close()  # the decoded pixels go before the reservation does


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
) -> PdqHash:
    width, height = full_size
    if scale > 1:
        luma = luma_f32(reference_array(im, force_rgb))
    else:
        scale = max(1, min(width, height) // FAST_MIN_SIDE)
        luma = _block_means(im, scale, force_rgb)
    buffer64 = pdq_math.downsample64(luma, height, width, scale)
    hex_value, q, variants = pdq_math.hash_from_buffer64(buffer64, dihedral)
    return PdqHash(hex_value, q, variants)


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
