"""Hash a whole file: cryptographic digests of its bytes, PDQ when it is an image, vPDQ when it
is a video (or an animated GIF, WebP or PNG).

Content problems never raise here: a truncated image still has its MD5, and the record carries
the error next to the digests. Only unreadable files come back without digests.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_mod
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from ohsc.errors import FileTooLargeError, ImageTooLargeError, InvalidInputError, MediaError, OhscError
from ohsc.settings import Settings
from ohsc.signals import pdq as pdq_mod
from ohsc.signals.animation import ANIMATED_FORMATS, hash_animation
from ohsc.signals.budget import MIB, DecodeLimits
from ohsc.signals.sniff import SNIFF_BYTES, MediaKind, image_format, sniff, video_format
from ohsc.signals.video_hashing import VideoHash, VideoOptions, hash_video
from ohsc.signals.vpdq_frames import VpdqFrame, format_vpdq

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class HashOptions:
    mode: pdq_mod.HashMode = "fast"
    dihedral: bool = False
    force_rgb: bool = False
    max_pixels: int = 100_000_000
    max_file_bytes: int = 512 * 1024 * 1024
    #: vPDQ of videos and animations (its ``mode`` follows ``mode``)
    video: VideoOptions = field(default_factory=VideoOptions)
    #: memory limits of decoding (the service's; with them a picture over a limit is refused
    #: with :class:`ImageTooLargeError` instead of recorded as the file's error)
    decode: DecodeLimits | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> HashOptions:
        values: dict[str, Any] = {
            "mode": settings.hash_mode,
            "force_rgb": settings.pdq_force_rgb,
            "max_pixels": settings.max_image_pixels,
            "max_file_bytes": settings.max_file_bytes,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "video" not in overrides or overrides["video"] is None:
            values["video"] = video_options(settings, mode=values["mode"])
        return cls(**values)

    @classmethod
    def for_upload(cls, settings: Settings, **overrides: Any) -> HashOptions:
        """Options for content sent to the service: videos longer than
        ``OHSC_VIDEO_UPLOAD_MAX_SECONDS`` are refused (:func:`hash_upload` checks sizes too), and
        pictures are decoded within the service's memory limits (:mod:`ohsc.signals.budget`)."""
        opts = cls.from_settings(settings, **overrides)
        video = replace(opts.video, max_duration=settings.video_upload_max_seconds)
        return replace(opts, video=video, decode=upload_decode_limits(settings))


def upload_decode_limits(settings: Settings) -> DecodeLimits:
    """``OHSC_UPLOAD_MAX_IMAGE_PIXELS`` and ``OHSC_IMAGE_DECODE_*``."""
    return DecodeLimits(
        max_pixels=settings.upload_max_image_pixels,
        max_bytes=settings.image_decode_max_mb * MIB,
        budget_bytes=settings.image_decode_budget_mb * MIB,
        wait_seconds=settings.image_decode_wait_seconds,
    )


def video_options(settings: Settings, **overrides: Any) -> VideoOptions:
    """vPDQ settings: ``OHSC_VIDEO_*``."""
    values: dict[str, Any] = {
        "interval": settings.video_interval,
        "max_frames": settings.video_max_frames,
        "max_pixels": settings.video_max_pixels,
        "time_budget": settings.video_time_budget,
        "threads": settings.video_threads,
        "mode": settings.hash_mode,
        "variants": settings.vpdq_variants,
        "variant_quality": settings.vpdq_quality_min,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return VideoOptions(**values)


@dataclass(slots=True)
class FileSignals:
    """Everything computed from one file. ``error`` explains what could not be computed."""

    size: int | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    kind: MediaKind = MediaKind.OTHER
    format: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    pdq_dihedral: dict[str, str] | None = None
    error: str | None = None
    error_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: vPDQ of a video or animation: its sampled frames
    vpdq: list[VpdqFrame] | None = None
    #: what the video container said and what hashing did (:class:`ohsc.signals.video_hashing.VideoInfo`)
    video: dict[str, Any] | None = None

    def signals(self) -> dict[str, str]:
        """Signal type name -> value, for matching (``vpdq``: the frames as one line of text)."""
        out: dict[str, str] = {}
        for name in ("md5", "sha1", "sha256", "pdq"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.vpdq:
            out["vpdq"] = format_vpdq(self.vpdq)
        return out

    def set_error(self, exc: OhscError) -> None:
        self.error = exc.message
        self.error_code = exc.code

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, vpdq=None))
        data["kind"] = str(self.kind)
        if self.vpdq is not None:
            data["vpdq"] = [f.to_dict() for f in self.vpdq]  # variants stay internal
        if not data["extra"]:
            del data["extra"]
        if data["pdq_dihedral"] is None:
            del data["pdq_dihedral"]
        for key in ("vpdq", "video"):
            if data[key] is None:
                del data[key]
        return data


class _Digests:
    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.sha1.update(chunk)
        self.sha256.update(chunk)
        self.size += len(chunk)

    def fill(self, out: FileSignals) -> None:
        out.size = self.size
        out.md5 = self.md5.hexdigest()
        out.sha1 = self.sha1.hexdigest()
        out.sha256 = self.sha256.hexdigest()


def _media(out: FileSignals, data: bytes, options: HashOptions) -> None:
    """Fill in perceptual signals for ``data`` (the whole file) according to its kind."""
    if out.kind is MediaKind.IMAGE:
        out.format = image_format(data[:SNIFF_BYTES])
        try:
            h = pdq_mod.hash_source(
                data,
                max_pixels=options.max_pixels,
                mode=options.mode,
                dihedral=options.dihedral,
                force_rgb=options.force_rgb,
                limits=options.decode,
            )
        except MediaError as exc:
            _refuse_or_record(out, exc, options)
        else:
            out.pdq, out.pdq_quality, out.pdq_dihedral = h.hex, h.quality, h.dihedral
        if out.format in ANIMATED_FORMATS:
            _animation(out, data, options)
    elif out.kind is MediaKind.VIDEO:
        _video(out, data, options)


def _refuse_or_record(out: FileSignals, exc: MediaError, options: HashOptions) -> None:
    """A picture over the service's decoding limits is refused (413); other problems are the
    file's error, next to its digests."""
    if options.decode is not None and isinstance(exc, ImageTooLargeError):
        raise exc
    out.set_error(exc)


def _set_video(out: FileSignals, vh: VideoHash) -> None:
    out.vpdq = vh.frames
    out.video = vh.info.to_dict()
    if vh.error and out.error is None:
        out.error, out.error_code = vh.error, "video_partial"


def _animation(out: FileSignals, data: bytes, options: HashOptions) -> None:
    """An animated GIF, WebP or PNG is a video too: vPDQ next to its first frame's PDQ."""
    try:
        vh = hash_animation(
            data, replace(options.video, mode=options.mode), options.max_pixels, limits=options.decode
        )
    except MediaError as exc:
        if out.error is None:
            _refuse_or_record(out, exc, options)
        return
    if vh is not None:
        out.kind = MediaKind.VIDEO
        _set_video(out, vh)


def _video(out: FileSignals, source: bytes | Path, options: HashOptions) -> None:
    if isinstance(source, bytes):
        out.format = video_format(source[:SNIFF_BYTES])
    try:
        vh = hash_video(source, replace(options.video, mode=options.mode))
    except MediaError as exc:
        out.set_error(exc)
        return
    _set_video(out, vh)


def hash_bytes(data: bytes, options: HashOptions) -> FileSignals:
    out = FileSignals(kind=sniff(data[:SNIFF_BYTES]))
    digests = _Digests()
    digests.update(data)
    digests.fill(out)
    if len(data) > options.max_file_bytes and out.kind is MediaKind.IMAGE:
        out.error, out.error_code = (
            f"image file of {len(data)} bytes is above the {options.max_file_bytes}-byte limit",
            "file_too_large",
        )
        return out
    _media(out, data, options)
    return out


def hash_stream(fh: BinaryIO, options: HashOptions) -> FileSignals:
    """Hash what ``fh`` reads (an object in a store): whole in memory up to ``max_file_bytes``;
    beyond that digests only, streamed, and pictures and videos get a ``file_too_large`` error."""
    data = fh.read(options.max_file_bytes + 1)
    if len(data) <= options.max_file_bytes:
        return hash_bytes(data, options)
    out = FileSignals(kind=sniff(data[:SNIFF_BYTES]))
    digests = _Digests()
    digests.update(data)
    while chunk := fh.read(CHUNK):
        digests.update(chunk)
    digests.fill(out)
    if out.kind in (MediaKind.IMAGE, MediaKind.VIDEO):
        out.error = f"{out.kind} file of {out.size} bytes is above the {options.max_file_bytes}-byte limit"
        out.error_code = "file_too_large"
    return out


def hash_path(path: Path, options: HashOptions) -> FileSignals:
    """Hash a file on disk; errors (unreadable, loops, special files) come back in the record."""
    out = FileSignals()
    try:
        # O_NONBLOCK: a FIFO in a seized folder must not hang the scan.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        out.error, out.error_code = _os_reason(exc), "unreadable"
        return out
    try:
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode):
            out.error, out.error_code = "not a regular file", "unreadable"
            return out
        with os.fdopen(fd, "rb", closefd=False) as fh:
            head = fh.read(SNIFF_BYTES)
            out.kind = sniff(head)
            wants_media = out.kind is MediaKind.IMAGE and st.st_size <= options.max_file_bytes
            if wants_media:
                data = head + fh.read(options.max_file_bytes + 1 - len(head))
                if len(data) <= options.max_file_bytes:
                    digests = _Digests()
                    digests.update(data)
                    digests.fill(out)
                    _media(out, data, options)
                    return out
                # the file grew while we read it: fall back to streaming
                digests = _Digests()
                digests.update(data)
            else:
                digests = _Digests()
                digests.update(head)
            while chunk := fh.read(CHUNK):
                digests.update(chunk)
            digests.fill(out)
            if out.kind is MediaKind.IMAGE:
                out.error = f"image file of {out.size} bytes is above the {options.max_file_bytes}-byte limit"
                out.error_code = "file_too_large"
            elif out.kind is MediaKind.VIDEO:
                out.format = video_format(head)
                _video(out, path, options)  # decoded from disk, never read into memory whole
            return out
    except OSError as exc:
        out.error, out.error_code = _os_reason(exc), "unreadable"
        return out
    finally:
        os.close(fd)


def hash_upload(data: bytes, settings: Settings, **overrides: Any) -> FileSignals:
    """Hash content sent to the service: empty uploads, videos above
    ``OHSC_VIDEO_UPLOAD_MAX_BYTES`` and other files above ``OHSC_UPLOAD_MAX_BYTES`` are refused;
    videos longer than ``OHSC_VIDEO_UPLOAD_MAX_SECONDS`` come back with a ``video_too_long``
    error (and no vPDQ)."""
    check_upload(data, settings)
    return hash_bytes(data, HashOptions.for_upload(settings, **overrides))


def check_upload(data: bytes, settings: Settings) -> None:
    """:func:`hash_upload`'s size checks, for callers that hash elsewhere (another process)."""
    if not data:
        raise InvalidInputError("the upload is empty")
    kind = sniff(data[:SNIFF_BYTES])
    if kind is MediaKind.VIDEO:
        limit = settings.video_upload_max_bytes
    else:
        limit = min(settings.upload_max_bytes, settings.max_file_bytes)
    if len(data) > limit:
        raise FileTooLargeError(
            f"{kind} upload of {len(data)} bytes is above the limit of {limit} bytes",
            detail={"size": len(data), "limit": limit},
        )


def _os_reason(exc: OSError) -> str:
    reasons = {
        errno.ELOOP: "symlink loop",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOENT: "file vanished or dangling symlink",
        errno.EISDIR: "is a directory",
        errno.EIO: "input/output error",
    }
    return reasons.get(exc.errno or 0, f"cannot read file: {exc.strerror or exc}")
