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
