"""Safe-first pictures: small, greyscale, heavily blurred previews made on the server, and thumbnails.

A reviewer's browser never receives the full media until a reveal is recorded; what it shows by
default is :func:`blurred_preview`, which cannot be unblurred on the client.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFilter, ImageOps

PREVIEW_SIZE = 240
THUMBNAIL_SIZE = 256
_MAX_PIXELS = 100_000_000


def _open(data: bytes, max_pixels: int) -> Image.Image | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            if opened.width * opened.height > max_pixels:
                return None
            opened.draft("RGB", (PREVIEW_SIZE * 2, PREVIEW_SIZE * 2))
            im = ImageOps.exif_transpose(opened)
            im.load()
            return im
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError, SyntaxError):
        return None


def _jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def blurred_preview(data: bytes, *, max_pixels: int = _MAX_PIXELS) -> bytes | None:
    """A 240-pixel greyscale, blurred JPEG of an image; None when it is not a readable image."""
    im = _open(data, max_pixels)
    if im is None:
        return None
    im = im.convert("L")
    im.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))
    radius = max(6, max(im.size) // 16)
    return _jpeg(im.filter(ImageFilter.GaussianBlur(radius)), 60)


def greyscale_sharp(data: bytes, *, max_pixels: int = _MAX_PIXELS) -> bytes | None:
    """A sharp greyscale JPEG (at most 480 pixels): the step between the blurred preview and full
    colour, shown only behind a recorded reveal; None when it is not a readable image."""
    im = _open(data, max_pixels)
    if im is None:
        return None
    im = im.convert("L")
    im.thumbnail((PREVIEW_SIZE * 2, PREVIEW_SIZE * 2))
    return _jpeg(im, 80)


def thumbnail(data: bytes, *, max_pixels: int = _MAX_PIXELS) -> bytes | None:
    """A 256-pixel colour JPEG thumbnail (kept encrypted as a bank reference); None if unreadable."""
    im = _open(data, max_pixels)
    if im is None:
        return None
    im = im.convert("RGB")
    im.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    return _jpeg(im, 80)


def mime_type(media_format: str | None, media_kind: str | None) -> str:
    if media_kind == "image" and media_format:
        return {
            "jpeg": "image/jpeg",
            "png": "image/png",
            "gif": "image/gif",
            "bmp": "image/bmp",
            "webp": "image/webp",
            "tiff": "image/tiff",
        }.get(media_format, "application/octet-stream")
    if media_kind == "video":
        return "video/mp4" if media_format in (None, "mp4") else f"video/{media_format}"
    return "application/octet-stream"
