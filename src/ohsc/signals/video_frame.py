"""vPDQ of video: options, what a hash says, and the PDQ of one decoded frame.

The pipeline is described in :mod:`ohsc.signals.video_hashing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from ohsc.signals import luma, pdq_math
from ohsc.signals.images import luma_f32
from ohsc.signals.vpdq_frames import VpdqFrame

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


def short_error(exc: BaseException) -> str:
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
