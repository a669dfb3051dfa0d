"""Decoding pictures within a memory budget (``ohsc.signals.budget``): the estimate bounds what
decoding really takes, fast mode works in strips without changing a bit, the service's limits
refuse (413) or make wait (503) what they must, and scans keep hashing big pictures."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ohsc.errors import DecodeBusyError, ImageTooLargeError
from ohsc.settings import load_settings
from ohsc.signals import pdq_pipeline as pdq
from ohsc.signals.animation import hash_animation
from ohsc.signals.budget import MIB, DecodeLimits, MemoryBudget, release_free_memory
from ohsc.signals.files import HashOptions, hash_bytes, hash_upload
from ohsc.signals.images import luma_f32, open_image, reference_array
from ohsc.signals.pdq_math import block_mean
from ohsc.signals.video_hashing import VideoOptions
from tests.images import encode, flat_png, picture

PROC = Path("/proc/self/clear_refs")


def _cost(data: bytes, mode: str) -> int:
    im = open_image(data, 10**9)
    fast = mode == "fast"
    scale = pdq._reduce(im, False) if fast else 1
    cost = pdq.decode_cost(im, fast=fast, scale=scale, full_size=open_image(data, 10**9).size)
    im.close()
    return cost


def _peak_growth(data: bytes, mode: str) -> int:
    """Peak resident memory added by hashing ``data`` (Linux: the peak is reset first)."""

    def field(name: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(name)

    release_free_memory()  # what earlier work freed would otherwise be reused unseen
    PROC.write_text("5")
    before = field("VmRSS")
    out = hash_bytes(data, HashOptions(mode=mode))  # type: ignore[arg-type]
    assert out.pdq is not None, out.error
    return field("VmHWM") - before


@pytest.mark.skipif(not PROC.exists(), reason="measures resident memory through /proc (Linux)")
def test_the_estimate_bounds_what_decoding_takes() -> None:
    hash_bytes(encode(picture(1, (64, 64)), "PNG"), HashOptions())  # hashing code loaded first
    big = picture(2, (3000, 2400))
    cases = {
        "png rgb, fast": (encode(big, "PNG", compress_level=1), "fast"),
        "png grey, fast": (encode(big.convert("L"), "PNG", compress_level=1), "fast"),
        "png rgb, exact": (encode(big, "PNG", compress_level=1), "exact"),
        "jpeg, fast (reduced decode)": (encode(big, "JPEG", quality=85), "fast"),
        "progressive jpeg, exact": (encode(big, "JPEG", quality=85, progressive=True), "exact"),
    }
    for name, (data, mode) in cases.items():
        cost, used = _cost(data, mode), _peak_growth(data, mode)
        assert used <= cost, f"{name}: took {used / MIB:.0f} MiB, estimated {cost / MIB:.0f} MiB"
        assert cost < 3 * used + 32 * MIB, f"{name}: estimate {cost / MIB:.0f} MiB far above {used / MIB:.0f}"
    assert (
        _cost(cases["jpeg, fast (reduced decode)"][0], "fast") < _cost(cases["png rgb, fast"][0], "fast") / 3
    )


def test_fast_mode_in_strips_is_bit_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    for size, mode in (((1500, 1100), "RGB"), ((2100, 700), "L"), ((700, 2100), "P"), ((1300, 1300), "CMYK")):
        im = picture(5, size).convert(mode)
        data = encode(im, "TIFF" if mode == "CMYK" else "PNG")
        whole = pdq.hash_source(data, max_pixels=10**9, mode="fast", dihedral=True)
        monkeypatch.setattr(pdq, "STRIP_PIXELS", 50_000)  # many strips, a partial one last
        strips = pdq.hash_source(data, max_pixels=10**9, mode="fast", dihedral=True)
        monkeypatch.undo()
        assert (strips.hex, strips.quality, strips.dihedral) == (whole.hex, whole.quality, whole.dihedral)
        opened = open_image(data, 10**9)
        block = max(1, min(size) // pdq.FAST_MIN_SIDE)
        expected = block_mean(luma_f32(reference_array(opened)), block)
        monkeypatch.setattr(pdq, "STRIP_PIXELS", 30_000)
        got = pdq._block_means(open_image(data, 10**9), block, False)
        monkeypatch.undo()
        assert got.dtype == np.float32 and np.array_equal(got, expected), (size, mode)


def test_limits_refuse_pictures_before_decoding() -> None:
    data = flat_png(3000, 2000)
    limits = DecodeLimits(max_pixels=5_000_000)
    with pytest.raises(ImageTooLargeError, match="OHSC_UPLOAD_MAX_IMAGE_PIXELS"):
        pdq.hash_source(data, max_pixels=10**9, limits=limits)
    with pytest.raises(ImageTooLargeError, match="OHSC_IMAGE_DECODE_MAX_MB"):
        pdq.hash_source(data, max_pixels=10**9, mode="exact", limits=DecodeLimits(max_bytes=128 * MIB))
    assert pdq.hash_source(data, max_pixels=10**9, limits=DecodeLimits(max_bytes=128 * MIB)).quality == 0


def test_the_budget_makes_decodes_wait_their_turn() -> None:
    budget = MemoryBudget(100)
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with budget.hold(80, 5):
            holding.set()
            time.sleep(0.3)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    holding.wait(5)
    with budget.hold(60, 5):
        order.append("second started")
    t.join()
    assert order == ["first done", "second started"]
    with budget.hold(100, 0), pytest.raises(DecodeBusyError) as busy, budget.hold(1, 0.05):
        pass  # the budget is full: the second hold gives up
    assert busy.value.http_status == 503 and busy.value.retry_after >= 1
    assert budget.used == 0


def test_uploads_are_refused_and_scans_record(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, upload_max_image_pixels=2_000_000)
    photo = picture(7, (4000, 3000))
    jpeg, png = encode(photo, "JPEG", quality=80), encode(photo, "PNG", compress_level=1)
    sig = hash_upload(jpeg, settings)  # decoded at 1/8: 500 x 375 pixels
    assert sig.pdq is not None and sig.error is None
    with pytest.raises(ImageTooLargeError) as refused:
        hash_upload(png, settings)
    assert refused.value.http_status == 413 and refused.value.detail["pixels"] == 12_000_000
    scanned = hash_bytes(png, HashOptions.from_settings(settings))  # scans set no decode limits
    assert scanned.pdq is not None and scanned.error is None
    bomb = hash_bytes(flat_png(100, 100), HashOptions(max_pixels=1000))
    assert bomb.error_code == "image_too_large" and bomb.md5 is not None  # still a record error


def test_animations_decode_within_the_limits(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (1200, 1000), (i * 60, 0, 0)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=500)
    options = VideoOptions()
    with pytest.raises(ImageTooLargeError, match="animation"):
        hash_animation(buf.getvalue(), options, 10**9, limits=DecodeLimits(max_bytes=16 * MIB))
    vh = hash_animation(buf.getvalue(), options, 10**9, limits=DecodeLimits(max_bytes=64 * MIB))
    assert vh is not None and len(vh.frames) >= 2
    sig = hash_upload(buf.getvalue(), load_settings(home=tmp_path))
    assert sig.vpdq is not None and len(sig.vpdq) >= 2
