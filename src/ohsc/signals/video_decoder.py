"""Decoding the frames vPDQ samples (PyAV): which frames, skipping and seeking in fast mode,
broken files kept to the frames before the break. See :mod:`ohsc.signals.video_hashing`."""

from __future__ import annotations

import math
import time
from typing import Any

from ohsc.errors import VideoTooLargeError, VideoTooLongError
from ohsc.signals.video_frame import (
    MAX_BAD_PACKETS,
    UNINDEXED_FORMATS,
    VideoHash,
    VideoOptions,
    hash_frame,
    short_error,
)
from ohsc.signals.vpdq_frames import make_frame


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
                self._broken(f"the container is truncated or corrupt: {short_error(exc)}")
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
                self.last_error = short_error(exc)
                if bad_packets > MAX_BAD_PACKETS:
                    self._broken(f"too many undecodable packets: {short_error(exc)}")
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
