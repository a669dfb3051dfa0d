"""vPDQ hashing: frame sampling and times, fast and exact pipelines, codecs, animations, and
bad input (clear errors, bounded time and memory)."""

from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from ohsc.errors import (
    VideoCodecError,
    VideoDecodeError,
    VideoNoStreamError,
    VideoTooLargeError,
    VideoTooLongError,
)
from ohsc.signals.animation import hash_animation
from ohsc.signals.files import HashOptions, hash_bytes, hash_path
from ohsc.signals.pdq import PdqSignal
from ohsc.signals.sniff import MediaKind
from ohsc.signals.video_hashing import VideoOptions, hash_video
from ohsc.video.synth import Encoding
from tests.videos import FPS, clips, pictures, show, write

SECONDS = 8.0


def near(a: list[str], b: list[str]) -> list[int]:
    return [PdqSignal.distance(x, y) for x, y in zip(a, b, strict=True)]


def test_one_frame_a_second_with_frame_numbers_and_times() -> None:
    vh = hash_video(clips().original)
    assert [f.frame for f in vh.frames] == list(range(0, int(SECONDS * FPS), FPS))
    assert [f.timestamp for f in vh.frames] == [float(i) for i in range(int(SECONDS))]
    assert all(len(f.pdq) == 64 and 0 <= f.quality <= 100 for f in vh.frames)
    assert sum(f.quality >= 50 for f in vh.frames) >= 6
    info = vh.info
    assert (info.width, info.height, info.fps, info.codec) == (256, 192, 10.0, "h264")
    assert info.duration == pytest.approx(SECONDS, abs=0.2)
    assert info.frames_hashed == len(vh.frames)
    assert info.truncated is None
    assert vh.error is None


def test_interval_is_configurable() -> None:
    every = hash_video(clips().original, VideoOptions(interval=0))
    assert len(every.frames) == int(SECONDS * FPS)
    sparse = hash_video(clips().original, VideoOptions(interval=2.5))
    assert [f.frame for f in sparse.frames] == [0, 25, 50, 75]


def test_fast_mode_decodes_less_and_agrees_with_exact_mode() -> None:
    fast = hash_video(clips().original, VideoOptions(mode="fast"))
    exact = hash_video(clips().original, VideoOptions(mode="exact"))
    assert [f.frame for f in fast.frames] == [f.frame for f in exact.frames]
    assert max(near([f.pdq for f in fast.frames], [f.pdq for f in exact.frames])) <= 4
    assert fast.info.frames_decoded < exact.info.frames_decoded == int(SECONDS * FPS)


@pytest.mark.parametrize(
    ("name", "encoding", "seeks"),
    [
        ("short-gop.mp4", Encoding(fps=FPS, gop=4), True),
        ("mpeg4.avi", Encoding(codec="mpeg4", fps=FPS, gop=5, options=(), container="avi"), True),
        (
            "mjpeg.avi",
            Encoding(codec="mjpeg", fps=FPS, pix_fmt="yuvj420p", options=(), container="avi"),
            True,
        ),
        (
            "vp9.webm",
            Encoding(
                codec="libvpx-vp9",
                fps=FPS,
                options=(("deadline", "realtime"), ("cpu-used", "8")),
                container="webm",
            ),
            False,
        ),
        ("mpeg2.ts", Encoding(codec="mpeg2video", fps=FPS, gop=5, options=(), container="mpegts"), False),
    ],
)
def test_codecs_and_containers(name: str, encoding: Encoding, seeks: bool) -> None:
    data = show(0, 2, encoding)
    fast = hash_video(data, VideoOptions(mode="fast"))
    exact = hash_video(data, VideoOptions(mode="exact"))
    assert [f.frame for f in fast.frames] == [f.frame for f in exact.frames] == [0, 10, 20, 30]
    assert max(near([f.pdq for f in fast.frames], [f.pdq for f in exact.frames])) <= 6
    assert (fast.info.seeks > 0) is seeks  # keyframes closer than a second apart: seek past them


def test_mjpeg_decodes_at_reduced_size() -> None:
    data = show(0, 1, Encoding(codec="mjpeg", fps=FPS, pix_fmt="yuvj420p", options=(), container="avi"))
    big = io.BytesIO()
    from ohsc.video.synth import slideshow

    slideshow(
        pictures(0, 1),
        big,
        size=(1024, 768),
        seconds_per_picture=1,
        encoding=Encoding(codec="mjpeg", fps=FPS, pix_fmt="yuvj420p", options=(), container="avi"),
    )
    fast = hash_video(big.getvalue(), VideoOptions(mode="fast"))
    exact = hash_video(big.getvalue(), VideoOptions(mode="exact"))
    assert max(near([f.pdq for f in fast.frames], [f.pdq for f in exact.frames])) <= 4
    assert hash_video(data).frames


def test_variants_are_hashed_for_matching() -> None:
    vh = hash_video(clips().original)
    assert all(len(f.variants) <= 4 for f in vh.frames)
    assert sum(len(f.variants) for f in vh.frames) >= 2 * len(vh.frames)
    plain = hash_video(clips().original, VideoOptions(variants=False))
    assert [f.pdq for f in plain.frames] == [f.pdq for f in vh.frames]
    assert not any(f.variants for f in plain.frames)


def test_letterboxed_frames_get_a_borderless_variant() -> None:
    frames = [Image.new("RGB", (256, 192)) for _ in range(2)]
    for im, pic in zip(frames, pictures(0, 2), strict=True):
        im.paste(pic.resize((256, 144)), (0, 24))  # black bars above and below
    buf = io.BytesIO()
    from ohsc.video.synth import encode

    encode([f for f in frames for _ in range(FPS)], buf, Encoding(fps=FPS))
    plain = io.BytesIO()
    encode([p.resize((256, 144)) for p in pictures(0, 2) for _ in range(FPS)], plain, Encoding(fps=FPS))
    boxed = hash_video(buf.getvalue())
    original = hash_video(plain.getvalue())
    for b, o in zip(boxed.frames, original.frames, strict=True):
        assert PdqSignal.distance(b.pdq, o.pdq) > 31  # plain PDQ does not see through the bars
        assert min(PdqSignal.distance(v, o.pdq) for v in b.variants) <= 16


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_are_videos(fmt: str, tmp_path: Path) -> None:
    pics = [p.resize((200, 150)) for p in pictures(0, 4)]
    buf = io.BytesIO()
    pics[0].save(buf, fmt, save_all=True, append_images=pics[1:], duration=[1500, 300, 1000, 2000], loop=0)
    sig = hash_bytes(buf.getvalue(), HashOptions())
    assert sig.kind is MediaKind.VIDEO
    assert sig.format == fmt.lower()
    assert sig.pdq is not None  # the first frame still matches photo banks
    assert sig.vpdq is not None
    # shown 0-1.5 s, 1.5-1.8 s (no sampling instant: skipped), 1.8-2.8 s, 2.8-4.8 s
    assert [(f.frame, f.timestamp) for f in sig.vpdq] == [(0, 0.0), (2, 1.8), (3, 2.8)]
    if fmt != "GIF":  # a GIF's photo PDQ hashes palette indices, as the reference does
        assert PdqSignal.distance(sig.vpdq[0].pdq, sig.pdq) <= 10
    assert sig.video is not None
    assert sig.video["duration"] == pytest.approx(4.8)
    assert "vpdq" in sig.signals()
    still = io.BytesIO()
    pics[0].save(still, fmt)
    assert hash_animation(still.getvalue(), VideoOptions(), 10**8) is None
    assert hash_bytes(still.getvalue(), HashOptions()).kind is MediaKind.IMAGE


def test_file_records_carry_the_frames(tmp_path: Path) -> None:
    path = write(tmp_path, "clip.bin", clips().original)  # the extension means nothing
    sig = hash_path(path, HashOptions())
    assert sig.kind is MediaKind.VIDEO
    assert sig.format == "mp4"
    assert sig.error is None
    assert sig.vpdq is not None
    assert len(sig.vpdq) == 8
    record = sig.to_dict()
    assert record["vpdq"][1] == {
        "frame": 10,
        "timestamp": 1.0,
        "pdq": sig.vpdq[1].pdq,
        "quality": sig.vpdq[1].quality,
    }
    assert record["video"]["frames_hashed"] == 8
    assert hash_bytes(clips().original, HashOptions()).to_dict() == record
    assert set(sig.signals()) == {"md5", "sha1", "sha256", "vpdq"}


# --- bad input -----------------------------------------------------------------------------


def _error(data: bytes, options: VideoOptions | None = None) -> tuple[str, str]:
    sig = hash_bytes(data, HashOptions(video=options or VideoOptions()))
    assert sig.md5 is not None  # the digests are always there
    assert sig.error is not None
    assert sig.error_code is not None
    return sig.error_code, sig.error


def test_truncated_and_corrupt_containers() -> None:
    data = clips().original
    code, message = _error(data[: len(data) // 2])  # the index (moov) is at the end
    assert code == "video_decode"
    assert "cannot open the video container" in message
    garbage = data[:64] + bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8))
    assert _error(garbage)[0] == "video_decode"
    assert _error(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 16)[0] == "video_decode"


def test_a_video_cut_short_keeps_what_was_hashed(tmp_path: Path) -> None:
    src = write(tmp_path, "in.mp4", clips().original)
    faststart = tmp_path / "faststart.mp4"
    with av.open(str(src)) as inp, av.open(str(faststart), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    data = faststart.read_bytes()
    sig = hash_bytes(data[: int(len(data) * 0.55)], HashOptions())
    assert sig.vpdq
    assert 2 <= len(sig.vpdq) < 8
    assert sig.error_code == "video_partial"
    assert "truncated file?" in (sig.error or "")
    assert sig.video is not None
    assert sig.video["truncated"] == "ends early"


def test_empty_files_are_not_videos(tmp_path: Path) -> None:
    sig = hash_path(write(tmp_path, "empty.mp4", b""), HashOptions())
    assert sig.kind is MediaKind.EMPTY
    assert sig.error is None
    assert sig.vpdq is None


def _audio(container: av.container.OutputContainer, seconds: int = 1) -> None:
    stream = container.add_stream("aac", rate=44100)
    for i in range(seconds * 43):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 44100, i * 1024
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def test_a_video_stream_without_frames() -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as c:
        video = c.add_stream("libx264", rate=FPS)
        video.width, video.height = 64, 48
        _audio(c)
    code, message = _error(buf.getvalue())
    assert code == "video_decode"
    assert "no frame" in message or "no frames" in message


def test_absurd_resolutions_are_refused_before_decoding() -> None:
    data = bytearray(
        show(0, 1, Encoding(codec="mjpeg", fps=FPS, pix_fmt="yuvj420p", options=(), container="avi"))
    )
    strf = data.find(b"strf")
    struct.pack_into("<ii", data, strf + 12, 12000, 12000)  # BITMAPINFOHEADER width, height
    start = 0
    while (start := data.find(b"\xff\xc0", start)) >= 0:  # every JPEG frame's SOF0
        struct.pack_into(">HH", data, start + 5, 12000, 12000)
        start += 2
    with pytest.raises(VideoTooLargeError, match="12000x12000"):
        hash_video(bytes(data))
    assert _error(clips().original, VideoOptions(max_pixels=10_000)) == (
        "video_too_large",
        "video frames are 256x192, above the limit of 10000 pixels",
    )


def test_hours_long_videos_stop_at_the_frame_cap() -> None:
    vh = hash_video(clips().original, VideoOptions(max_frames=3))
    assert len(vh.frames) == 3
    assert vh.info.truncated == "frame cap"
    assert vh.error is None
    # a declared 2.5-hour video (five frames half an hour apart) is cheap, and capped too
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as c:
        s = c.add_stream("libx264", rate=1)
        s.width, s.height = 64, 48
        s.codec_context.time_base = Fraction(1, 1000)
        for i, pic in enumerate(pictures(0, 4) + pictures(0, 1)):
            frame = av.VideoFrame.from_image(pic.resize((64, 48)))
            frame.pts, frame.time_base = i * 1_800_000, Fraction(1, 1000)
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    long = buf.getvalue()
    assert [f.timestamp for f in hash_video(long).frames] == [0.0, 1800.0, 3600.0, 5400.0, 7200.0]
    assert len(hash_video(long, VideoOptions(max_frames=2)).frames) == 2
    with pytest.raises(VideoTooLongError, match="above the limit of 3600 s"):
        hash_video(long, VideoOptions(max_duration=3600))


def test_time_budget() -> None:
    with pytest.raises(VideoDecodeError, match="time budget"):
        hash_video(clips().original, VideoOptions(time_budget=1e-9))


def test_audio_only_files() -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        _audio(c)
    with pytest.raises(VideoNoStreamError, match=r"no video stream in this file \(audio\)"):
        hash_video(buf.getvalue())
    assert _error(buf.getvalue())[0] == "video_no_stream"


def test_unsupported_codecs() -> None:
    avi = show(0, 1, Encoding(codec="mpeg4", fps=FPS, options=(), container="avi"))
    assert b"FMP4" in avi
    with pytest.raises(VideoCodecError, match="no decoder"):
        hash_video(avi.replace(b"FMP4", b"ZQZQ"))
