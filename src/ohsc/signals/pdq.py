"""PDQ: Meta's perceptual photo hash, in an exact and a fast pipeline.

* ``exact`` reproduces python-threatexchange bit for bit: Pillow decodes at full resolution and
  Meta's C++ (the ``pdqhash`` package) hashes the array.
* ``fast`` (the default for scans) decodes JPEGs at reduced DCT scale straight to luma (Pillow
  ``draft``), then runs PDQ's own blur-and-sample arithmetic with the weights of the full-size
  image (:mod:`ohsc.signals.pdq_math`). It checks its own stability and hashes pictures of fine
  detail exactly, so it stays within Meta's conformance bound of exact mode (10 bits for quality
  >= 80; see docs/benchmarks.md for the measured distribution).

The pipelines live in :mod:`ohsc.signals.pdq_pipeline`, imported on first use: this module (the
signal type) needs neither numpy nor Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ohsc.signals.base import HexDigestSignal

if TYPE_CHECKING:
    from PIL import Image

    from ohsc.signals.budget import DecodeLimits
    from ohsc.signals.images import ImageSource

HashMode = Literal["fast", "exact"]


class PdqSignal(HexDigestSignal):
    name = "pdq"
    description = "PDQ perceptual photo hash: 256 bits as 64 hex digits, compared by Hamming distance"
    hex_length = 64
    is_distance = True
    max_distance = 256

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return (int.from_bytes(cls.to_bytes(a)) ^ int.from_bytes(cls.to_bytes(b))).bit_count()


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
    from ohsc.signals.pdq_pipeline import hash_image as run

    return run(im, mode=mode, dihedral=dihedral, force_rgb=force_rgb, limits=limits)


def hash_source(
    source: ImageSource,
    *,
    max_pixels: int,
    mode: HashMode = "fast",
    dihedral: bool = False,
    force_rgb: bool = False,
    limits: DecodeLimits | None = None,
) -> PdqHash:
    """PDQ of image bytes, a path or a file (opened safely: see :func:`ohsc.signals.images.open_image`)."""
    from ohsc.signals.pdq_pipeline import hash_source as run

    return run(
        source, max_pixels=max_pixels, mode=mode, dihedral=dihedral, force_rgb=force_rgb, limits=limits
    )
