"""Benign test videos: pan-and-zoom slideshows of photos, and the edits a re-uploader makes.

Used by the tests, the benchmark and the demo. Everything is encoded with PyAV (FFmpeg's
libraries from the PyPI wheels); pictures come from ``../shared/corpus`` or
:func:`ohsc.demo.synth.picture`. Edits (:func:`transform`): re-encode at a low bitrate, resize,
trim, crop, change the frame rate, overlay a logo; :func:`concat` embeds a clip in a longer video.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ohsc.signals.av_support import require_av

Target = Path | io.BytesIO


@dataclass(frozen=True, slots=True)
class Encoding:
    """How to encode: codec, container options, pixel format, bitrate, keyframe interval."""

    codec: str = "libx264"
    fps: int = 25
    pix_fmt: str = "yuv420p"
    bit_rate: int | None = None
    #: frames between keyframes (None: the codec's default)
    gop: int | None = None
    #: B-frames between references (None: the codec's default)
    b_frames: int | None = None
    options: tuple[tuple[str, str], ...] = (("preset", "veryfast"),)
    container: str | None = None


def _pan_zoom(im: Image.Image, size: tuple[int, int], progress: float, direction: int) -> Image.Image:
    """One frame of a slow Ken Burns move: zoom from 1.0 to 1.2 while panning."""
    w, h = im.size
    out_w, out_h = size
    aspect = out_w / out_h
    # the largest box of the output aspect ratio that fits the picture
    box_w, box_h = (w, w / aspect) if w / h < aspect else (h * aspect, h)
    zoom = 1.0 + 0.2 * progress
    bw, bh = box_w / zoom, box_h / zoom
    sx, sy = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)][direction % 4]
    x0 = (w - bw) * (sx + (0.5 - sx) * progress)
    y0 = (h - bh) * (sy + (0.5 - sy) * progress)
    return im.resize(size, Image.Resampling.BILINEAR, box=(x0, y0, x0 + bw, y0 + bh))


def slideshow_frames(
    pictures: Sequence[Image.Image], size: tuple[int, int], fps: int, seconds_per_picture: float
) -> Iterator[Image.Image]:
    per = max(1, round(fps * seconds_per_picture))
    for n, pic in enumerate(pictures):
        rgb = pic.convert("RGB")
        for k in range(per):
            yield _pan_zoom(rgb, size, k / per, n)


def encode(frames: Iterator[Image.Image] | Sequence[Image.Image], target: Target, enc: Encoding) -> None:
    """Encode RGB frames (all of one size) into ``target`` (a path or a BytesIO)."""
    av = require_av()
    fmt = enc.container
    if fmt is None:
        fmt = "mp4" if isinstance(target, io.BytesIO) else None
    container: Any = av.open(target, mode="w", format=fmt)
    try:
        stream: Any = None
        for im in frames:
            if stream is None:
                stream = container.add_stream(enc.codec, rate=Fraction(enc.fps), options=dict(enc.options))
                stream.width, stream.height = im.size
                stream.pix_fmt = enc.pix_fmt
                if enc.bit_rate is not None:
                    stream.bit_rate = enc.bit_rate
                if enc.gop is not None:
                    stream.codec_context.gop_size = enc.gop
                if enc.b_frames is not None:
                    stream.codec_context.max_b_frames = enc.b_frames
            frame = av.VideoFrame.from_image(im)
            for packet in stream.encode(frame):
                container.mux(packet)
        if stream is None:
            raise ValueError("no frames to encode")
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()


def slideshow(
    pictures: Sequence[Image.Image],
    target: Target,
    *,
    size: tuple[int, int] = (320, 240),
    seconds_per_picture: float = 2.0,
    encoding: Encoding | None = None,
) -> None:
    """A pan-and-zoom slideshow of ``pictures``."""
    enc = encoding or Encoding()
    encode(slideshow_frames(pictures, size, enc.fps, seconds_per_picture), target, enc)


def decode_frames(source: Path | bytes) -> tuple[list[tuple[float, Image.Image]], float]:
    """Every frame of a (small) video with its time in seconds, and the stream's frame rate."""
    av = require_av()
    src: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    out: list[tuple[float, Image.Image]] = []
    with av.open(src) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        first: float | None = None
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else len(out) / rate
            first = t if first is None else first
            out.append((t - first, frame.to_image()))
    return out, rate


def logo(size: int = 64) -> Image.Image:
    """A benign placeholder logo: a ring and a bar on transparency."""
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.ellipse((2, 2, size - 3, size - 3), outline=(255, 255, 255, 230), width=max(2, size // 10))
    draw.rectangle(
        (size // 4, size // 2 - size // 12, 3 * size // 4, size // 2 + size // 12), fill=(255, 200, 0, 230)
    )
    return im


Edit = Callable[[Image.Image], Image.Image]


def crop_edit(fraction: float) -> Edit:
    """Cut ``fraction`` of the width and height away (half on each side), keep the crop's size."""

    def edit(im: Image.Image) -> Image.Image:
        w, h = im.size
        dx, dy = round(w * fraction / 2), round(h * fraction / 2)
        return im.crop((dx, dy, w - dx, h - dy))

    return edit


def resize_edit(size: tuple[int, int]) -> Edit:
    def edit(im: Image.Image) -> Image.Image:
        return im.resize(size, Image.Resampling.BILINEAR)

    return edit


def logo_edit(
    mark: Image.Image | None = None, position: tuple[float, float] = (0.03, 0.03), height: float = 0.12
) -> Edit:
    """Stamp a logo (default: :func:`logo`, ``height`` of the frame's height) in a corner."""

    def edit(im: Image.Image) -> Image.Image:
        stamp = mark or logo(max(16, round(im.size[1] * height)))
        out = im.convert("RGBA")
        x, y = round(position[0] * im.size[0]), round(position[1] * im.size[1])
        out.alpha_composite(stamp, (x, y))
        return out.convert("RGB")

    return edit


def even(im: Image.Image) -> Image.Image:
    """4:2:0 encoders need even sides."""
    w, h = im.size
    return im if (w % 2 == 0 and h % 2 == 0) else im.crop((0, 0, w - w % 2, h - h % 2))


def retime(frames: Sequence[tuple[float, Image.Image]], fps: float, duration: float) -> Iterator[Image.Image]:
    """Frames at a new rate: output frame k shows the last source frame at or before k / fps."""
    times = np.array([t for t, _ in frames])
    for k in range(int(duration * fps + 1e-9)):
        i = int(np.searchsorted(times, k / fps + 1e-6, side="right")) - 1
        yield frames[max(i, 0)][1]


def transform(
    source: Path | bytes,
    target: Target,
    *,
    edits: Sequence[Edit] = (),
    trim: tuple[float, float] | None = None,
    fps: int | None = None,
    encoding: Encoding | None = None,
) -> None:
    """Decode ``source``, apply ``edits`` to every frame, trim to ``[start, end)`` seconds and
    change the frame rate, then encode with ``encoding`` (its ``fps`` is overridden by ``fps``)."""
    frames, rate = decode_frames(source)
    if trim is not None:
        start, end = trim
        frames = [(t - start, im) for t, im in frames if start - 1e-6 <= t < end - 1e-6]
    edited = [(t, even(_apply(im, edits))) for t, im in frames]
    enc = encoding or Encoding()
    out_fps = fps or round(rate)
    enc = Encoding(
        codec=enc.codec,
        fps=out_fps,
        pix_fmt=enc.pix_fmt,
        bit_rate=enc.bit_rate,
        gop=enc.gop,
        b_frames=enc.b_frames,
        options=enc.options,
        container=enc.container,
    )
    duration = len(frames) / rate
    encode(retime(edited, out_fps, duration), target, enc)


def _apply(im: Image.Image, edits: Sequence[Edit]) -> Image.Image:
    for edit in edits:
        im = edit(im)
    return im


def concat(
    parts: Sequence[Path | bytes], target: Target, *, size: tuple[int, int], encoding: Encoding | None = None
) -> None:
    """Join videos (resized to ``size``) one after the other: embeds a clip in a longer video."""
    enc = encoding or Encoding()

    def frames() -> Iterator[Image.Image]:
        for part in parts:
            decoded, rate = decode_frames(part)
            resized = [(t, im.resize(size, Image.Resampling.BILINEAR)) for t, im in decoded]
            yield from retime(resized, enc.fps, len(decoded) / rate)

    encode(frames(), target, enc)
