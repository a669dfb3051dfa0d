"""Object pictures for Trace an Object: decoded, checked and re-encoded from their pixels alone.

Re-encoding from raw pixels drops everything an upload may carry besides the picture: EXIF (GPS
position, camera serial numbers, dates), XMP and IPTC, ICC profiles, comments, PNG text chunks,
thumbnails, extra frames. Orientation is applied first so the picture looks as intended.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ohsc.errors import FileTooLargeError, ImageDecodeError, ImageTooLargeError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"})
THUMB_SIDE = 480
JPEG_QUALITY = 90


@dataclass(frozen=True, slots=True)
class SanitisedImage:
    data: bytes
    format: str  # jpeg | png
    width: int
    height: int
    sha256: str
    thumb: bytes  # JPEG, at most THUMB_SIDE pixels a side

    @property
    def mime(self) -> str:
        return f"image/{self.format}"


def _encode(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        im.save(buf, "PNG", optimize=True)
    else:
        im.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue()


def sanitise(data: bytes, *, max_bytes: int, max_pixels: int, max_side: int) -> SanitisedImage:
    """Check an upload and re-encode it without metadata (JPEG, or PNG when it has transparency)."""
    if len(data) > max_bytes:
        raise FileTooLargeError(f"picture is larger than {max_bytes} bytes")
    if not data:
        raise ImageDecodeError("the picture is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as src:
                if src.format not in ACCEPTED_FORMATS:
                    raise ImageDecodeError(
                        f"unsupported picture format {src.format}; use JPEG, PNG, WebP, GIF, BMP or TIFF"
                    )
                if src.width * src.height > max_pixels:
                    raise ImageTooLargeError(f"picture has more than {max_pixels} pixels")
                src.seek(0)  # first frame of animations
                oriented = ImageOps.exif_transpose(src)
                has_alpha = oriented.mode in {"RGBA", "LA", "PA"} or (
                    oriented.mode == "P" and "transparency" in oriented.info
                )
                mode = "RGBA" if has_alpha else "RGB"
                pixels = oriented.convert(mode)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise ImageDecodeError("not a picture OHSC can read") from None
        raise ImageTooLargeError("picture is too large to decode safely") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(f"the picture is damaged: {exc.__class__.__name__}") from None
    # a fresh image from the pixels alone: no info dict, no EXIF, no ICC profile, no text chunks
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    if max(clean.size) > max_side:
        clean.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    fmt = "png" if has_alpha else "jpeg"
    encoded = _encode(clean, fmt)
    thumb_src = clean.convert("RGB") if has_alpha else clean.copy()
    thumb_src.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return SanitisedImage(
        data=encoded,
        format=fmt,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        thumb=_encode(thumb_src, "jpeg"),
    )
