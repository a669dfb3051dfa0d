"""vPDQ hashing speed per core, and compatibility with Meta's reference hashes.

Speed (default): 720p H.264 test videos (pan-and-zoom slideshows of ../shared/corpus photos,
encoded here with PyAV/libx264 in three GOP structures) hashed at one frame a second by

* the reference approach: decode every frame (PyAV, one thread), convert the sampled frames to
  RGB24 with swscale's area filter, ``pdqhash.compute`` (what Meta's vpdq-hash-video does);
* Meta's ``vpdq`` package from PyPI (its C++ with the system FFmpeg), when it is installed here
  or in the Python given with ``--vpdq-python``;
* OHSC exact mode (every frame decoded) and fast mode (what scans use).

Figures are seconds of video per CPU second of the hashing process, pinned to one core with
one decoder thread: a per-core real-time factor, and ratios to the reference in the same run.

Compatibility (``--reference``): distances between OHSC's frame hashes and Meta's C++ hashes
of Meta's sample videos (``../shared/reference/vpdq``), every frame (exact) and at one frame a
second (fast); and, for the ``-128x128`` files, frames downscaled to 128x128 first.

    .venv/bin/python benchmarks/bench_video.py [--seconds 40] [--vpdq-python /path/to/python]
    .venv/bin/python benchmarks/bench_video.py --reference
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CACHE = REPO / "benchmarks" / ".cache"
RESULTS = REPO / "benchmarks" / "results"

VPDQ_SNIPPET = """
import json, sys, time, vpdq
path = sys.argv[1]
best = None
for _ in range(int(sys.argv[2])):
    t = time.process_time()
    hashes = vpdq.computeHash(path, seconds_per_hash=1.0, thread_count=1)
    dt = time.process_time() - t
    best = dt if best is None else min(best, dt)
print(json.dumps({"cpu": best, "frames": len(hashes), "hashes": [h.hex for h in hashes],
                  "numbers": [h.frame_number for h in hashes]}))
"""


def pin_one_core() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}"


def cpu_best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        result = fn()
        best = min(best, time.process_time() - t0)
    return best, result


# --- test videos -------------------------------------------------------------------------------


def make_videos(seconds: int) -> dict[str, Path]:
    """720p H.264 at 30 fps in three GOP structures (cached under benchmarks/.cache)."""
    from PIL import Image

    from ohsc.video.synth import Encoding, slideshow

    photos = sorted((SHARED / "corpus" / "photos").glob("*.jpg"))
    if not photos:
        raise SystemExit(f"needs the benign photo corpus at {SHARED / 'corpus' / 'photos'}")
    per = 4.0
    count = max(1, int(seconds / per))
    pics = []
    for p in photos[:count]:
        im = Image.open(p).convert("RGB")
        im.thumbnail((1600, 1200))
        pics.append(im)
    kinds = {
        # libx264 defaults: B-frames (b-pyramid), keyframes up to 250 frames apart
        "720p-h264-default": Encoding(fps=30, options=(("preset", "veryfast"),)),
        # a live stream recording: no B-frames, a keyframe every 2 s
        "720p-h264-live": Encoding(
            fps=30, gop=60, b_frames=0, options=(("preset", "veryfast"), ("tune", "zerolatency"))
        ),
        # short GOPs (0.5 s): seeking pays off
        "720p-h264-gop15": Encoding(fps=30, gop=15, options=(("preset", "veryfast"),)),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name, enc in kinds.items():
        path = CACHE / f"{name}-{count * int(per)}s.mp4"
        if not path.exists():
            print(f"encoding {path.name} ...", file=sys.stderr, flush=True)
            tmp = path.with_suffix(".tmp.mp4")
            slideshow(pics, tmp, size=(1280, 720), seconds_per_picture=per, encoding=enc)
            tmp.replace(path)
        out[name] = path
    return out


# --- the contenders ----------------------------------------------------------------------------


def reference_approach(path: Path) -> list[str]:
    """Decode every frame; RGB24 (swscale area) and pdqhash for frame n % int(fps) == 0."""
    import av
    import numpy as np
    import pdqhash

    hashes = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = "SLICE"
        mod = max(1, int(float(stream.average_rate or stream.guessed_rate)))
        for n, frame in enumerate(container.decode(stream)):
            if n % mod:
                continue
            rgb = frame.reformat(format="rgb24", interpolation="AREA").to_ndarray()
            vector, _quality = pdqhash.compute(np.ascontiguousarray(rgb))
            hashes.append(np.packbits(vector.astype(np.uint8)).tobytes().hex())
    return hashes


def ohsc(path: Path, mode: str) -> list[str]:
    from ohsc.signals.video_hashing import VideoOptions, hash_video

    vh = hash_video(path, VideoOptions(mode=mode, threads=1))  # type: ignore[arg-type]
    return [f.pdq for f in vh.frames]


def vpdq_package(path: Path, python: str | None, repeat: int) -> dict[str, Any] | None:
    exe = python
    if exe is None:
        try:
            import vpdq  # noqa: F401
        except ImportError:
            return None
        exe = sys.executable
    try:
        done = subprocess.run(
            [exe, "-c", VPDQ_SNIPPET, str(path), str(repeat)],
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"vpdq package failed: {exc}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def speed(args: argparse.Namespace) -> dict[str, Any]:
    import av

    videos = make_videos(args.seconds)
    pin_one_core()
    rows: dict[str, Any] = {}
    print(f"machine: {machine()}")
    print("seconds of video hashed per CPU second (one core, one decoder thread), 1 frame/s sampled\n")
    header = f"{'video':<22}{'reference':>11}{'vpdq (PyPI)':>13}{'OHSC exact':>12}{'OHSC fast':>11}{'fast/ref':>10}"
    print(header)
    for name, path in videos.items():
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            duration = float(s.duration * s.time_base)
        ohsc(path, "fast")  # warm numba and caches
        ref_cpu, ref_hashes = cpu_best(lambda p=path: reference_approach(p), args.repeat)
        exact_cpu, exact_hashes = cpu_best(lambda p=path: ohsc(p, "exact"), args.repeat)
        fast_cpu, fast_hashes = cpu_best(lambda p=path: ohsc(p, "fast"), args.repeat)
        pkg = vpdq_package(path, args.vpdq_python, args.repeat)
        row = {
            "duration_s": round(duration, 2),
            "reference_x": round(duration / ref_cpu, 1),
            "exact_x": round(duration / exact_cpu, 1),
            "fast_x": round(duration / fast_cpu, 1),
            "fast_vs_reference": round(ref_cpu / fast_cpu, 2),
            "exact_vs_reference": round(ref_cpu / exact_cpu, 2),
            "fast_vs_reference_max_bits": max(map(distance, fast_hashes, ref_hashes)),
            "exact_vs_reference_max_bits": max(map(distance, exact_hashes, ref_hashes)),
        }
        if pkg is not None:
            row["vpdq_x"] = round(duration / pkg["cpu"], 1)
            row["fast_vs_vpdq"] = round(pkg["cpu"] / fast_cpu, 2)
            row["fast_vs_vpdq_max_bits"] = max(map(distance, fast_hashes, pkg["hashes"]))
        rows[name] = row
        vp = f"{row['vpdq_x']:>12.1f}x" if pkg is not None else f"{'-':>13}"
        print(
            f"{name:<22}{row['reference_x']:>10.1f}x{vp}{row['exact_x']:>11.1f}x{row['fast_x']:>10.1f}x"
            f"{row['fast_vs_reference']:>9.2f}x"
        )
    return {"machine": machine(), "seconds": args.seconds, "speed": rows}


# --- compatibility -----------------------------------------------------------------------------


def hash_128(path: Path) -> dict[int, str]:
    """Every frame downscaled to 128x128 (swscale area) before PDQ, as the -128x128 files were."""
    import av

    from ohsc.signals import luma, pdq_math
    from ohsc.signals.images import luma_f32

    out = {}
    with av.open(str(path)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            rgb = frame.reformat(width=128, height=128, format="rgb24", interpolation="AREA").to_ndarray()
            hex_value, _q = pdq_math.hash_from_buffer64(luma.buffer64(luma_f32(rgb), 128, 128))
            out[n] = hex_value
    return out


def summary(dist: list[int], quality: list[int]) -> dict[str, Any]:
    import numpy as np

    d = np.array(dist)
    q = np.array(quality)
    return {
        "frames": len(d),
        "mean": round(float(d.mean()), 2),
        "p50": int(np.percentile(d, 50)),
        "p95": int(np.percentile(d, 95)),
        "p99": int(np.percentile(d, 99)),
        "max": int(d.max()),
        "exact_share": round(float(np.mean(d == 0)), 3),
        "within_10": round(float(np.mean(d <= 10)), 4),
        "within_10_quality_50": round(float(np.mean(d[q >= 50] <= 10)), 4) if (q >= 50).any() else None,
    }


def reference(args: argparse.Namespace) -> dict[str, Any]:
    from ohsc.signals.video_hashing import VideoOptions, hash_video
    from ohsc.signals.vpdq_frames import parse_vpdq

    ref_dir = SHARED / "reference" / "vpdq"
    names = sorted(p.stem for p in (ref_dir / "videos").glob("*.mp4"))
    if not names:
        raise SystemExit(f"needs Meta's sample videos at {ref_dir}")
    runs: dict[str, tuple[list[int], list[int]]] = {
        "exact, every frame": ([], []),
        "fast, 1 frame/s": ([], []),
    }
    small: tuple[list[int], list[int]] = ([], [])
    per_video = {}
    for name in names:
        ref = {f.frame: f for f in parse_vpdq((ref_dir / "hashes" / f"{name}.txt").read_text())}
        for label, opts in (
            ("exact, every frame", VideoOptions(interval=0, mode="exact", variants=False)),
            ("fast, 1 frame/s", VideoOptions(interval=1, mode="fast", variants=False)),
        ):
            frames = hash_video(ref_dir / "videos" / f"{name}.mp4", opts).frames
            d = [distance(f.pdq, ref[f.frame].pdq) for f in frames]
            runs[label][0].extend(d)
            runs[label][1].extend(ref[f.frame].quality for f in frames)
            if label.startswith("exact"):
                per_video[name] = summary(d, [ref[f.frame].quality for f in frames])
        small_file = ref_dir / "hashes" / f"{name}-128x128.txt"
        if small_file.exists():
            ref128 = {f.frame: f for f in parse_vpdq(small_file.read_text())}
            ours = hash_128(ref_dir / "videos" / f"{name}.mp4")
            common = sorted(set(ours) & set(ref128))
            small[0].extend(distance(ours[n], ref128[n].pdq) for n in common)
            small[1].extend(ref128[n].quality for n in common)
    result = {label: summary(*values) for label, values in runs.items()}
    if small[0]:
        result["128x128, every frame"] = summary(*small)
    print(
        f"{'run':<24}{'frames':>8}{'mean':>7}{'p50':>5}{'p95':>5}{'p99':>5}{'max':>5}{'=0':>7}{'<=10':>8}{'<=10 q50':>10}"
    )
    for label, s in result.items():
        print(
            f"{label:<24}{s['frames']:>8}{s['mean']:>7}{s['p50']:>5}{s['p95']:>5}{s['p99']:>5}{s['max']:>5}"
            f"{s['exact_share']:>7.1%}{s['within_10']:>8.1%}{s['within_10_quality_50'] or 0:>10.1%}"
        )
    print("\nper video (exact, every frame):")
    for name, s in per_video.items():
        print(f"  {name:<32} mean {s['mean']:>5}  max {s['max']:>3}  <=10 {s['within_10']:.1%}")
    return {"machine": machine(), "reference": result, "per_video": per_video}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=40, help="length of each test video")
    ap.add_argument("--repeat", type=int, default=2, help="runs per contender (best counts)")
    ap.add_argument("--vpdq-python", help="a Python with Meta's vpdq package installed")
    ap.add_argument("--reference", action="store_true", help="compatibility with Meta's hashes instead")
    args = ap.parse_args()
    result = reference(args) if args.reference else speed(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "video-reference.json" if args.reference else "video-speed.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
