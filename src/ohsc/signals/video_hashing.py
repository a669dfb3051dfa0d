"""vPDQ hashing of video files with PyAV: PDQ and quality of sampled frames, with their times.

Frame choice follows Meta's C++ ``vpdq-hash-video``: frame ``n`` (counted from 0 in
presentation order) is hashed when ``n % int(interval * fps) == 0``, and its timestamp is
``n / fps`` (``fps``: the stream's average frame rate, else its base rate). Here ``n`` comes
from the frame's presentation time, which is the same count for constant-rate video and stays
right when frames are skipped or the decoder seeks.

Two pipelines (``VideoOptions.mode``), hashing frames the same way:

* ``exact`` decodes every frame, like the reference (bank entries, ``ohsc match FILE``);
* ``fast`` (scans) decodes only what the sampled frames need: non-reference frames are skipped
  (``skip_frame=NONREF``) except near a sampled frame; when the next sampled frame lies beyond
  the next keyframe the decoder seeks to the keyframe before it; and MJPEG is decoded at
  reduced resolution (DCT scaling, like JPEG photos in fast mode).

A frame's PDQ reads luma straight from the Y plane: BT.601 luma *is* PDQ's 0.299/0.587/0.114
mix of the RGB the reference converts to, up to an affine map that the hash ignores (it is
applied for the quality metric). PDQ's blur and 64x64 sampling are applied as narrow bands
(:mod:`ohsc.signals.luma`); non-YUV frames are converted to RGB24 as the reference does.

Bad input gives clear errors (:class:`~ohsc.errors.VideoError` subclasses) in bounded time and
memory: frame size is checked before decoding (and FFmpeg is told the same ``max_pixels``), the
number of hashed frames is capped, and a wall-clock budget stops runaway files. A file that
breaks part-way keeps the frames hashed before the break, with ``error`` saying so.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from ohsc.errors import (
    VideoCodecError,
    VideoDecodeError,
    VideoNoStreamError,
    VideoTooLargeError,
    VideoTooLongError,
)
from ohsc.signals.av_support import require_av
from ohsc.signals.video_decoder import _Decoder
from ohsc.signals.video_frame import (
    FAST_MIN_SIDE,
    LOWRES_CODECS,
    MAX_BAD_PACKETS,
    UNINDEXED_FORMATS,
    VideoHash,
    VideoInfo,
    VideoMode,
    VideoOptions,
    VideoSource,
    hash_frame,
    short_error,
)


def _open(av: Any, source: VideoSource) -> Any:
    src: Any = io.BytesIO(source) if isinstance(source, bytes | bytearray | memoryview) else source
    if isinstance(src, Path):
        src = str(src)
    try:
        return av.open(src, mode="r", options={"probesize": str(32 << 20)})
    except av.error.FFmpegError as exc:
        raise VideoDecodeError(f"cannot open the video container: {short_error(exc)}") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise VideoDecodeError(f"cannot open the video container: {short_error(exc)}") from None


def _video_stream(container: Any) -> Any:
    streams = [s for s in container.streams.video if not (s.disposition & 0x400)]  # attached pictures
    if not streams:
        others = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
        raise VideoNoStreamError(f"no video stream in this file ({others})")
    return streams[0]


def _rate(stream: Any) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        try:
            value = float(rate) if rate else 0.0
        except (TypeError, ZeroDivisionError):
            continue
        if 0.01 < value <= 1000:
            return value
    return None


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration) / 1_000_000
    return None


def hash_video(source: VideoSource, options: VideoOptions | None = None) -> VideoHash:
    """vPDQ of a video file (a path, its bytes or a binary file object)."""
    opts = options or VideoOptions()
    av = require_av()
    container = _open(av, source)
    try:
        return _hash_container(av, container, opts)
    finally:
        container.close()


def _hash_container(av: Any, container: Any, opts: VideoOptions) -> VideoHash:
    stream = _video_stream(container)
    out = VideoHash()
    info = out.info
    info.container = container.format.name if container.format else None
    info.codec = stream.codec_context.name if stream.codec_context is not None else None
    if stream.codec_context is None or stream.codec_context.codec is None:
        raise VideoCodecError("no decoder for this video's codec")
    cc = stream.codec_context
    info.width, info.height = int(cc.width or 0), int(cc.height or 0)
    if info.width * info.height > opts.max_pixels:
        raise VideoTooLargeError(
            f"video frames are {info.width}x{info.height}, above the limit of {opts.max_pixels} pixels",
            detail={"width": info.width, "height": info.height, "limit": opts.max_pixels},
        )
    info.fps = _rate(stream)
    info.duration = _duration(container, stream)
    if opts.max_duration is not None and info.duration is not None and info.duration > opts.max_duration:
        raise VideoTooLongError(
            f"video lasts {info.duration:.0f} s, above the limit of {opts.max_duration:.0f} s",
            detail={"duration": info.duration, "limit": opts.max_duration},
        )
    decoder_options = {"max_pixels": str(opts.max_pixels)}
    fast = opts.mode == "fast"
    full_w, full_h = info.width, info.height
    if fast and cc.name in LOWRES_CODECS and min(full_w, full_h) >= 2 * FAST_MIN_SIDE:
        lowres = min(3, int(math.log2(min(full_w, full_h) / FAST_MIN_SIDE)))
        decoder_options["lowres"] = str(lowres)
    cc.options = decoder_options
    cc.thread_count = max(1, opts.threads)
    cc.thread_type = "AUTO" if opts.threads > 1 else "SLICE"
    decoder = _Decoder(av, container, stream, opts, out, (full_h, full_w))
    decoder.run()
    if not out.frames:
        if out.error:
            raise VideoDecodeError(f"no frame could be decoded: {out.error}")
        if info.truncated == "time budget":
            raise VideoDecodeError(
                f"the time budget of {opts.time_budget:g} s ran out before a frame was hashed"
            )
        raise VideoDecodeError("the video has no frames")
    info.frames_hashed = len(out.frames)
    if info.truncated is None and info.duration and decoder.last_rel >= 0:
        end = decoder.last_rel + 1.0 / (info.fps or 25.0)
        if end < info.duration - max(2.0, 0.1 * info.duration):
            out.error = (
                f"the video stops at {end:.1f} s of the {info.duration:.1f} s its header declares "
                "(truncated file?): frames up to there were hashed"
            )
            info.truncated = "ends early"
    return out


__all__ = [
    "FAST_MIN_SIDE",
    "LOWRES_CODECS",
    "MAX_BAD_PACKETS",
    "UNINDEXED_FORMATS",
    "VideoHash",
    "VideoInfo",
    "VideoMode",
    "VideoOptions",
    "VideoSource",
    "hash_frame",
    "hash_video",
]
