"""Benign test videos: pan-and-zoom slideshows of the shared corpus photos (or of generated
pictures on a fresh clone), and the edits re-uploaders make. Small and short, built once per
test process."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image

from ohsc.demo import synth
from ohsc.video.synth import Encoding, concat, crop_edit, logo_edit, resize_edit, slideshow, transform

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference" / "vpdq"

SIZE = (256, 192)
FPS = 10
SECONDS_PER_PICTURE = 2.0
ENCODING = Encoding(fps=FPS, gop=50, options=(("preset", "veryfast"),))


def pictures(first: int, count: int) -> list[Image.Image]:
    """Corpus photos ``first .. first+count`` (every third photo: varied scenes), or generated ones."""
    photos = sorted((SHARED / "corpus" / "photos").glob("*.jpg"))
    if len(photos) >= 3 * (first + count):
        out = []
        for p in photos[3 * first : 3 * (first + count) : 3]:
            im = Image.open(p).convert("RGB")
            im.thumbnail((640, 480))
            out.append(im)
        return out
    return [synth.picture(1000 + first + i, (480, 360)) for i in range(count)]


def show(first: int, count: int = 4, encoding: Encoding = ENCODING) -> bytes:
    buf = io.BytesIO()
    slideshow(
        pictures(first, count), buf, size=SIZE, seconds_per_picture=SECONDS_PER_PICTURE, encoding=encoding
    )
    return buf.getvalue()


def edited(source: bytes, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    transform(source, buf, **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


@dataclass(frozen=True)
class Clips:
    """An original, its edited copies, and unrelated videos (all MP4 bytes)."""

    original: bytes
    unrelated: tuple[bytes, ...]
    copies: dict[str, bytes]


@lru_cache(maxsize=1)
def clips() -> Clips:
    original = show(0)
    unrelated = (show(10), show(20), show(30))
    copies = {
        "reencoded at a low bitrate": edited(
            original, encoding=Encoding(fps=FPS, bit_rate=40_000, options=())
        ),
        "resized down": edited(original, edits=[resize_edit((160, 120))]),
        "resized up": edited(original, edits=[resize_edit((480, 360))]),
        "trimmed": edited(original, trim=(2.0, 6.0)),
        "cropped 5%": edited(original, edits=[crop_edit(0.05)]),
        "frame rate changed": edited(original, fps=25),
        "logo overlaid": edited(original, edits=[logo_edit()]),
    }
    buf = io.BytesIO()
    concat([unrelated[0], original, unrelated[1]], buf, size=SIZE, encoding=ENCODING)
    copies["embedded in a longer video"] = buf.getvalue()
    return Clips(original, unrelated, copies)


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path
