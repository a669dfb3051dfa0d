"""Plain-text descriptions of video hashes and matches (the CLI prints them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ohsc.signals.vpdq_frames import VpdqFrame, vpdq_id


def clock(seconds: float) -> str:
    """``m:ss.s`` or ``h:mm:ss``."""
    seconds = max(0.0, float(seconds))
    if seconds >= 3600:
        hours, left = divmod(int(seconds), 3600)
        mins, secs = divmod(left, 60)
        return f"{hours}:{mins:02d}:{secs:02d}"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def describe_hash(
    frames: Sequence[VpdqFrame] | Sequence[Mapping[str, Any]], info: Mapping[str, Any] | None
) -> str:
    """One line: how many frames over how long, the vPDQ id, and why hashing stopped early."""
    items = [f if isinstance(f, VpdqFrame) else _frame(f) for f in frames]
    if not items:
        return "no frames"
    last = items[-1].timestamp
    text = f"{len(items)} frames, 0:00.0-{clock(last)}, {vpdq_id(items)}"
    if info and info.get("truncated"):
        text += f" (stopped early: {info['truncated']})"
    return text


def _frame(obj: Mapping[str, Any]) -> VpdqFrame:
    return VpdqFrame(int(obj["frame"]), float(obj["timestamp"]), str(obj["pdq"]), int(obj["quality"]))


def describe_match(video: Mapping[str, Any]) -> str:
    """``95% of the query, 40% of the bank video; query 0:05-0:25 = bank 5:00-5:20``."""
    text = f"{video['query_percent']:.0f}% of the query, {video['bank_percent']:.0f}% of the bank video"
    segments = video.get("segments") or []
    if segments:
        shown = [
            f"query {clock(s['query_start'])}-{clock(s['query_end'])} = bank "
            f"{clock(s['bank_start'])}-{clock(s['bank_end'])}"
            for s in segments[:3]
        ]
        more = f" (+{len(segments) - 3} more)" if len(segments) > 3 else ""
        text += "; " + ", ".join(shown) + more
    return text


def short_signals(signals: Mapping[str, str]) -> dict[str, str]:
    """Signals to show: a vPDQ (hundreds of frames) as its id."""
    from ohsc.signals.vpdq import VpdqSignal

    out = dict(signals)
    if "vpdq" in out:
        out["vpdq"] = VpdqSignal.reference(out["vpdq"])
    return out
