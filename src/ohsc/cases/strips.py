"""Keyframe strips of video items: a few keyframes spread over the video, side by side, small,
greyscale and blurred when made (nothing sharper is kept or reaches the browser; an analyst who
needs more reveals the video itself, which counts against the exposure budget).

Made by the hashing worker at ingest (it holds the file already) and kept next to the case's
journals, one JPEG per content: ``OHSC_HOME/cases/<case>/strips/<md5>.jpg``.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

#: keyframes in a strip, and each one's height in pixels
FRAMES = 5
HEIGHT = 72
#: keyframes looked at (evenly spaced ones are picked from these) and the time spent at most
MAX_KEYFRAMES = 120
TIME_BUDGET = 5.0
#: larger frames are not decoded for a strip
MAX_PIXELS = 8_000_000


def _keyframes(source: bytes | Path) -> list[Any]:
    from PIL import Image

    from ohsc.signals.av_support import require_av
    from ohsc.signals.video_hashing import _open, _video_stream

    av = require_av()
    container = _open(av, source)
    out: list[Image.Image] = []
    try:
        stream = _video_stream(container)
        ctx = stream.codec_context
        if (ctx.width or 0) * (ctx.height or 0) > MAX_PIXELS:
            return []
        ctx.skip_frame = "NONKEY"
        deadline = time.monotonic() + TIME_BUDGET
        for frame in container.decode(stream):
            im = frame.to_image().convert("L")
            im.thumbnail((HEIGHT * 4, HEIGHT))
            out.append(im)
            if len(out) >= MAX_KEYFRAMES or time.monotonic() > deadline:
                break
    except Exception:  # a broken file keeps the keyframes read before the break
        return out
    finally:
        container.close()
    return out


def keyframe_strip(source: bytes | Path, frames: int = FRAMES) -> bytes | None:
    """A greyscale, blurred JPEG of up to ``frames`` keyframes side by side; None when no
    keyframe can be decoded."""
    from PIL import Image, ImageFilter

    try:
        found = _keyframes(source)
    except Exception:  # not a readable video: no strip
        return None
    if not found:
        return None
    step = max(1, len(found) / frames)
    picked = [found[int(i * step)] for i in range(min(frames, len(found)))]
    width = sum(im.width for im in picked) + 2 * (len(picked) - 1)
    strip = Image.new("L", (width, HEIGHT), 0)
    x = 0
    for im in picked:
        blurred = im.filter(ImageFilter.GaussianBlur(max(4, im.height // 10)))
        strip.paste(blurred, (x, (HEIGHT - im.height) // 2))
        x += im.width + 2
    buf = io.BytesIO()
    strip.save(buf, "JPEG", quality=60)
    return buf.getvalue()


def encode(strip: bytes) -> str:
    return base64.b64encode(strip).decode("ascii")


def strip_path(home: Path, case_id: int, md5: str) -> Path:
    return home / "cases" / str(case_id) / "strips" / f"{md5}.jpg"


def keep(home: Path, case_id: int, md5: str, encoded: str) -> None:
    """Write a worker's strip (base64) where the grid reads it (once per content)."""
    path = strip_path(home, case_id, md5)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(base64.b64decode(encoded))
    tmp.replace(path)


def read_strip(home: Path, case_id: int, md5: str) -> bytes | None:
    try:
        return strip_path(home, case_id, md5).read_bytes()
    except OSError:
        return None
