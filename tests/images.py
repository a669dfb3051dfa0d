"""Benign test images made on the fly (and helpers to find the shared corpus)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ohsc.demo import synth

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def corpus_photos(limit: int | None = None) -> list[Path]:
    photos = sorted((SHARED / "corpus" / "photos").glob("*.jpg"))
    return photos[:limit] if limit else photos


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    return synth.picture(seed, size)


def flat_png(width: int, height: int, *, grey: bool = False, shade: int = 0) -> bytes:
    """A PNG of ``width x height`` pixels of one shade, made row by row without holding the pixels:
    a few hundred KB that decode to gigabytes (the hostile image of memory tests)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    channels = 1 if grey else 3
    row = b"\x00" + bytes([shade]) * (width * channels)  # filter byte 0, then the samples
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if grey else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
