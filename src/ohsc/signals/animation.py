"""Animated GIF, WebP and PNG are hashed as videos: vPDQ of their frames, sampled by time.

Pillow composes each frame (disposal, blending, palettes) into a full RGB picture; a frame is
hashed when a sampling instant (every ``interval`` seconds from 0) falls while it is shown,
once however long it is shown. Frame durations under 20 ms are shown as 100 ms, as browsers do.
"""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from ohsc.errors import ImageDecodeError, VideoDecodeError
from ohsc.signals import luma, pdq_math
from ohsc.signals.budget import DecodeLimits, reserve
from ohsc.signals.images import ImageSource, luma_f32, open_image
from ohsc.signals.video_hashing import VideoHash, VideoOptions
from ohsc.signals.vpdq_frames import make_frame

#: Image formats that may be animated.
ANIMATED_FORMATS = frozenset({"gif", "webp", "png"})
_MIN_DURATION_MS = 20
_DEFAULT_DURATION_MS = 100


def is_animated(im: Image.Image) -> bool:
    return bool(getattr(im, "is_animated", False)) and int(getattr(im, "n_frames", 1)) > 1


def hash_frame_image(im: Image.Image, variant_quality: int | None) -> tuple[str, int, tuple[str, ...]]:
    rgb = im.convert("RGB")
    w, h = rgb.size
    if min(w, h) < pdq_math.MIN_HASHABLE_DIM:
        return "0" * 64, 0, ()
    plane = luma_f32(np.asarray(rgb))
    hex_value, quality = pdq_math.hash_from_buffer64(luma.buffer64(plane, h, w))
    variants = luma.variant_hashes(plane, 1.0, variant_quality) if variant_quality is not None else ()
    return hex_value, quality, variants


#: bytes per pixel while a frame is hashed: Pillow's composed frame and the previous one, its RGB
#: copy and array, float luma terms
FRAME_BYTES = 4 + 4 + 4 + 3 + 16
#: the decoder's and hashing's own buffers, whatever the size
FIXED_BYTES = 16 << 20


def hash_animation(
    source: ImageSource, options: VideoOptions, max_pixels: int, *, limits: DecodeLimits | None = None
) -> VideoHash | None:
    """vPDQ of an animated image; None when the image is not animated. With ``limits`` the frames
    are decoded within them (:mod:`ohsc.signals.budget`)."""
    try:
        im = open_image(source, max_pixels)
    except ImageDecodeError:
        return None
    try:
        if not is_animated(im):
            return None
        pixels = im.size[0] * im.size[1]
        with reserve(limits, pixels, FIXED_BYTES + pixels * FRAME_BYTES, "animation's frames"):
            try:
                return _frames(im, options)
            finally:
                im.close()  # the decoded frames go before the reservation does
    finally:
        im.close()


def _frames(im: Image.Image, options: VideoOptions) -> VideoHash:
    """Sample and hash the frames of an animated image (opened)."""
    out = VideoHash()
    info = out.info
    info.container = (im.format or "").lower() or None
    info.codec = info.container
    info.width, info.height = im.size
    started = time.monotonic()
    n_frames = int(getattr(im, "n_frames", 1))
    start_ms = 0
    next_ms = 0.0
    interval_ms = options.interval * 1000
    for index in range(n_frames):
        if time.monotonic() - started > options.time_budget:
            info.truncated = "time budget"
            break
        try:
            im.seek(index)
            im.load()
            duration = int(im.info.get("duration") or 0)
        except (OSError, EOFError, ValueError) as exc:
            out.error = f"animation is truncated or corrupt at frame {index}: {exc}"
            info.truncated = "decode error"
            break
        if duration < _MIN_DURATION_MS:
            duration = _DEFAULT_DURATION_MS
        end_ms = start_ms + duration
        info.frames_decoded += 1
        if interval_ms <= 0 or next_ms < end_ms:
            if len(out.frames) >= options.max_frames:
                info.truncated = "frame cap"
                break
            try:
                hex_value, quality, variants = hash_frame_image(
                    im, options.variant_quality if options.variants else None
                )
            except (OSError, ValueError, MemoryError) as exc:
                out.error = f"animation frame {index} cannot be decoded: {exc}"
                info.truncated = "decode error"
                break
            out.frames.append(make_frame(index, start_ms / 1000, hex_value, quality, variants))
            if interval_ms > 0:
                while next_ms < end_ms:
                    next_ms += interval_ms
        start_ms = end_ms
    info.duration = start_ms / 1000
    info.fps = info.frames_decoded / info.duration if info.duration else None
    info.frames_hashed = len(out.frames)
    if not out.frames:
        raise VideoDecodeError(out.error or "the animation has no frames")
    return out
