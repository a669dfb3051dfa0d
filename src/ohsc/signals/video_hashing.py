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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from ohsc.errors import (
    VideoCodecError,
    VideoDecodeError,
    VideoNoStreamError,
    VideoTooLargeError,
    VideoTooLongError,
)
from ohsc.signals import luma, pdq_math
from ohsc.signals.av_support import require_av
from ohsc.signals.images import luma_f32
from ohsc.signals.vpdq_frames import VpdqFrame, make_frame

VideoMode = Literal["fast", "exact"]
VideoSource = Path | bytes | BinaryIO

#: Reduced-resolution decodes keep at least this many pixels on the short side.
FAST_MIN_SIDE = 256
#: Decoders asked to decode at 1/2, 1/4 or 1/8 size (FFmpeg ``lowres``). MPEG-1/2/4 part 2
#: can too, but their motion compensation drifts at reduced size (up to 10 bits measured) for
#: no gain in speed; intra-only MJPEG (CCTV, old cameras) is hashed within 0-1 bit, 7x faster.
LOWRES_CODECS = frozenset({"mjpeg"})
#: Containers without a seek index (FFmpeg seeks them by guessed byte offsets): never seek.
UNINDEXED_FORMATS = frozenset({"mpegts", "mpeg", "h264", "hevc", "mpegvideo", "m4v", "mjpeg", "rawvideo"})
#: Consecutive undecodable packets before a file is given up as corrupt.
MAX_BAD_PACKETS = 100
#: Y-plane pixel formats read directly in fast mode: name -> (bytes per sample, full range).
_LUMA_FORMATS: dict[str, tuple[int, bool]] = {
    "yuv420p": (1, False),
    "yuv422p": (1, False),
    "yuv444p": (1, False),
    "yuv440p": (1, False),
    "yuv411p": (1, False),
    "yuv410p": (1, False),
    "nv12": (1, False),
    "nv21": (1, False),
    "yuvj420p": (1, True),
    "yuvj422p": (1, True),
    "yuvj444p": (1, True),
    "yuvj440p": (1, True),
    "yuv420p10le": (2, False),
    "yuv422p10le": (2, False),
    "yuv444p10le": (2, False),
}


@dataclass(frozen=True, slots=True)
class VideoOptions:
    #: Seconds between hashed frames; 0 hashes every frame.
    interval: float = 1.0
    #: Most frames hashed per video; longer videos are hashed up to here (``truncated``).
    max_frames: int = 10_800
    #: Most pixels per frame; larger videos are refused before decoding.
    max_pixels: int = 40_000_000
    #: Wall-clock seconds per video; hashing stops there (``truncated``).
    time_budget: float = 900.0
    #: Refuse videos longer than this many seconds (uploads); None: no limit.
    max_duration: float | None = None
    mode: VideoMode = "fast"
    #: Decoder threads (1 in scans: the scan already runs one process per core).
    threads: int = 1
    #: Also hash centre crops and the borderless frame, for matching (not part of vPDQ).
    variants: bool = True
    #: Variant hashes below this quality are dropped.
    variant_quality: int = 50


@dataclass(slots=True)
class VideoInfo:
    """What the container said and what hashing did."""

    container: str | None = None
    codec: str | None = None
    width: int = 0
    height: int = 0
    fps: float | None = None
    duration: float | None = None
    frames_hashed: int = 0
    frames_decoded: int = 0
    #: Why hashing stopped before the end: "frame cap", "time budget", "decode error",
    #: "ends early" (the stream stops well before the duration in the header).
    truncated: str | None = None
    seeks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "fps": None if self.fps is None else round(self.fps, 3),
            "duration": None if self.duration is None else round(self.duration, 3),
            "frames_hashed": self.frames_hashed,
            "frames_decoded": self.frames_decoded,
            "truncated": self.truncated,
        }


@dataclass(slots=True)
class VideoHash:
    frames: list[VpdqFrame] = field(default_factory=list)
    info: VideoInfo = field(default_factory=VideoInfo)
    #: A problem met part-way (the frames before it are kept).
    error: str | None = None


def _short(exc: BaseException) -> str:
    """FFmpeg's reason, without the file name and errno (messages name paths themselves)."""
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return str(text).split("; last error log:")[0].split(": '")[0][:200]


# --- turning a decoded frame into PDQ --------------------------------------------------------


def _luma_plane(frame: Any) -> tuple[npt.NDArray[Any], float] | None:
    """The Y plane (a view, 8 or 16 bits) and the factor that maps it to RGB-derived luma;
    None when the frame is not YUV."""
    spec = _LUMA_FORMATS.get(frame.format.name)
    if spec is None:
        return None
    size, full_range = spec
    plane = frame.planes[0]
    h, w = plane.height, plane.width
    gain = 1.0 if full_range else 255.0 / 219.0
    if size == 1:
        raw: npt.NDArray[Any] = np.frombuffer(plane, dtype=np.uint8).reshape(h, plane.line_size)[:, :w]
    else:
        raw = np.frombuffer(plane, dtype="<u2").reshape(h, plane.line_size // 2)[:, :w]
        gain /= 4.0
    return raw, gain


def _rgb24(frame: Any) -> npt.NDArray[np.uint8]:
    """The reference's conversion: swscale, area filter, BT.601, range from the pixel format."""
    name = frame.format.name
    kwargs: dict[str, Any] = {"format": "rgb24", "interpolation": "AREA"}
    if name.startswith(("yuv", "nv")):
        kwargs["src_colorspace"] = "ITU601"
        kwargs["src_color_range"] = "JPEG" if name.startswith("yuvj") else "MPEG"
    arr: npt.NDArray[np.uint8] = frame.reformat(**kwargs).to_ndarray()
    return arr


def hash_frame(
    frame: Any, full_height: int, full_width: int, variant_quality: int | None = None
) -> tuple[str, int, tuple[str, ...]]:
    """PDQ, quality and variant hashes (:func:`ohsc.signals.luma.variant_hashes`, when
    ``variant_quality`` is given) of a decoded frame.

    Luma comes from the Y plane when the frame is YUV (RGB-derived luma is the same up to an
    affine map, which PDQ's hash ignores; the map is applied for the quality metric), otherwise
    from an RGB24 conversion like the reference's. ``full_*`` is the size before any
    reduced-resolution decode.
    """
    got = _luma_plane(frame)
    if got is None:
        plane: npt.NDArray[Any] = luma_f32(_rgb24(frame))
        gain = 1.0
    else:
        plane, gain = got
    h, w = plane.shape
    if min(h, w, full_height, full_width) < pdq_math.MIN_HASHABLE_DIM:
        return "0" * 64, 0, ()
    scale = 1
    if (h, w) != (full_height, full_width):
        scale = max(1, round(full_width / w))
        if (-(-full_height // scale), -(-full_width // scale)) != (h, w):
            full_height, full_width, scale = h, w, 1  # unexpected size: hash what we have
    hex_value, quality = pdq_math.hash_from_buffer64(
        luma.buffer64(plane, full_height, full_width, scale, gain)
    )
    variants = luma.variant_hashes(plane, gain, variant_quality) if variant_quality is not None else ()
    return hex_value, quality, variants


# --- the decode loop -------------------------------------------------------------------------


class _Sampler:
    """Which frames to hash: frame numbers on the stream's frame grid (or times, without a rate)."""

    def __init__(self, interval: float, fps: float | None) -> None:
        self.fps = fps
        self.interval = interval
        self.mod = max(1, int(interval * fps)) if fps else 0
        self.next_index = 0
        self.next_time = 0.0

    def index(self, rel: float, count: int) -> int:
        return round(rel * self.fps) if self.fps else count

    def wants(self, index: int, rel: float) -> bool:
        if self.fps:
            return index >= self.next_index
        return rel >= self.next_time - 1e-6

    def taken(self, index: int, rel: float) -> None:
        if self.fps:
            self.next_index = (index // self.mod + 1) * self.mod
        elif self.interval > 0:
            self.next_time = (math.floor(rel / self.interval + 1e-6) + 1) * self.interval
        else:
            self.next_time = rel + 1e-6

    def timestamp(self, index: int, rel: float) -> float:
        return index / self.fps if self.fps else rel

    def next_rel(self) -> float:
        return self.next_index / self.fps if self.fps else self.next_time


def _open(av: Any, source: VideoSource) -> Any:
    src: Any = io.BytesIO(source) if isinstance(source, bytes | bytearray | memoryview) else source
    if isinstance(src, Path):
        src = str(src)
    try:
        return av.open(src, mode="r", options={"probesize": str(32 << 20)})
    except av.error.FFmpegError as exc:
        raise VideoDecodeError(f"cannot open the video container: {_short(exc)}") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise VideoDecodeError(f"cannot open the video container: {_short(exc)}") from None


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


class _Decoder:
    def __init__(
        self, av: Any, container: Any, stream: Any, opts: VideoOptions, out: VideoHash, full: tuple[int, int]
    ) -> None:
        self.av = av
        self.container = container
        self.stream = stream
        self.cc = stream.codec_context
        self.opts = opts
        self.out = out
        self.full_h, self.full_w = full
        self.fast = opts.mode == "fast"
        self.sampler = _Sampler(opts.interval, out.info.fps)
        self.time_base = float(stream.time_base) if stream.time_base else None
        self.t0: float | None = None
        self.count = 0
        self.last_rel = -1.0
        #: keyframe spacing seen (largest of the recent gaps between consecutive keyframes)
        self.key_gaps: list[float] = []
        self.last_key: float | None = None
        self.can_seek = (
            self.fast
            and opts.interval > 0
            and self.time_base is not None
            and (container.format.name if container.format else "") not in UNINDEXED_FORMATS
        )
        #: after a seek: where we meant to land (to catch a seek that overshot)
        self.seek_target: float | None = None
        self.last_error: str | None = None
        self.started = time.monotonic()

    # packet-level choices --------------------------------------------------------------------

    def _packet_rel(self, packet: Any) -> float | None:
        if packet.pts is None or self.time_base is None or self.t0 is None:
            return None
        return float(packet.pts) * self.time_base - self.t0

    def _skip_for(self, packet: Any) -> str:
        """NONREF far from the next sampled frame, DEFAULT near it (and whenever unsure)."""
        rel = self._packet_rel(packet)
        if rel is None:
            return "DEFAULT"
        reorder = max(int(self.cc.has_b_frames or 0), 2) + 2
        fps = self.sampler.fps or 30.0
        return "DEFAULT" if rel >= self.sampler.next_rel() - reorder / fps else "NONREF"

    def _maybe_seek(self) -> None:
        """Seek to the keyframe before the next sampled frame when that skips a keyframe."""
        if not self.can_seek or not self.key_gaps or self.t0 is None:
            return
        target = self.sampler.next_rel()
        fps = self.sampler.fps or 30.0
        if target - self.last_rel <= max(self.key_gaps) + 2.0 / fps:
            return
        self._seek(target, target)

    def _seek(self, to: float, target: float) -> None:
        assert self.t0 is not None
        assert self.time_base is not None
        try:
            self.container.seek(
                int((to + self.t0) / self.time_base), stream=self.stream, backward=True, any_frame=False
            )
        except self.av.error.FFmpegError:
            self.can_seek = False
            return
        self.out.info.seeks += 1
        self.last_key = None
        self.seek_target = target

    def _after_seek(self, rel: float) -> bool:
        """First frame after a seek: if it landed past the sampled frame, go back once more (and
        stop seeking in this file if that does not help). True: this frame is to be dropped."""
        target, self.seek_target = self.seek_target, None
        assert target is not None
        fps = self.sampler.fps or 30.0
        if rel <= target + 0.5 / fps:
            return False
        if self.can_seek:
            self.can_seek = False  # no more seeks in this file: the index is not to be trusted
            self._seek(max(0.0, target - 2 * max(self.key_gaps, default=1.0) - 1.0), target)
            return True
        return False

    # the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        bad_packets = 0
        demux = self.container.demux(self.stream)
        while True:
            if time.monotonic() - self.started > self.opts.time_budget:
                self.out.info.truncated = "time budget"
                return
            try:
                packet = next(demux)
            except StopIteration:
                if not self.out.frames and self.last_error:
                    self.out.error = f"every packet failed to decode: {self.last_error}"
                return
            except self.av.error.FFmpegError as exc:
                self._broken(f"the container is truncated or corrupt: {_short(exc)}")
                return
            if self.fast:
                skip = self._skip_for(packet)
                if self.cc.skip_frame != skip:
                    self.cc.skip_frame = skip
            if packet.is_keyframe and packet.pts is not None and self.time_base is not None:
                self._note_keyframe(float(packet.pts) * self.time_base)
            try:
                frames = packet.decode()
            except self.av.error.FFmpegError as exc:
                bad_packets += 1
                self.last_error = _short(exc)
                if bad_packets > MAX_BAD_PACKETS:
                    self._broken(f"too many undecodable packets: {_short(exc)}")
                    return
                continue
            bad_packets = 0
            seek = False
            for frame in frames:
                state = self._frame(frame)
                if state == "stop":
                    return
                seek = seek or state == "hashed"
            if seek:
                self._maybe_seek()

    def _note_keyframe(self, t: float) -> None:
        if self.last_key is not None and t > self.last_key + 1e-6:
            self.key_gaps.append(t - self.last_key)
            if len(self.key_gaps) > 16:
                del self.key_gaps[0]
        self.last_key = t

    def _broken(self, message: str) -> None:
        self.out.error = message
        self.out.info.truncated = "decode error"

    def _frame(self, frame: Any) -> str:
        info = self.out.info
        info.frames_decoded += 1
        if frame.width * frame.height > self.opts.max_pixels:
            raise VideoTooLargeError(
                f"a video frame is {frame.width}x{frame.height}, above the limit of {self.opts.max_pixels} pixels"
            )
        if frame.pts is not None and frame.time_base is not None:
            t = float(frame.pts * frame.time_base)
        else:
            t = self.count / (self.sampler.fps or 25.0)
        if self.t0 is None:
            self.t0 = t
        rel = max(0.0, t - self.t0)
        if self.seek_target is not None and self._after_seek(rel):
            return "skipped"
        index = self.sampler.index(rel, self.count)
        self.count += 1
        if self.opts.max_duration is not None and rel > self.opts.max_duration:
            raise VideoTooLongError(f"video lasts more than the limit of {self.opts.max_duration:.0f} s")
        self.last_rel = max(self.last_rel, rel)
        if not self.sampler.wants(index, rel):
            return "skipped"
        if len(self.out.frames) >= self.opts.max_frames:
            info.truncated = "frame cap"
            return "stop"
        hex_value, quality, variants = hash_frame(
            frame,
            self.full_h or frame.height,
            self.full_w or frame.width,
            self.opts.variant_quality if self.opts.variants else None,
        )
        self.out.frames.append(
            make_frame(index, self.sampler.timestamp(index, rel), hex_value, quality, variants)
        )
        self.sampler.taken(index, rel)
        return "hashed"
