"""vPDQ values: a video's sampled frames, each with its PDQ hash, quality and time.

Text forms read (:func:`parse_vpdq`):

* **Meta's vPDQ .txt** lines ``frame,quality,pdq_hex,timestamp`` (the C++ tool's output and the
  files in ThreatExchange's ``vpdq/sample-hashes``), one per line or separated by ``;``;
* **python-threatexchange / HMA** signal strings: a JSON list of ``"pdq_hex,quality,timestamp"``
  (and the older JSON object keyed by frame number);
* **OHSC JSON**: a list of ``{"frame", "timestamp", "pdq", "quality"}`` objects, as
  ``ohsc hash --json`` prints them.

The canonical form (:func:`format_vpdq`) is Meta's line format joined with ``;`` on one line,
so that it fits a CSV cell. A bank keeps only a reference to the frames, the **vPDQ id**
(:func:`vpdq_id`): ``vpdq-`` and the SHA-256 of the hashes, qualities and millisecond times, so
the same frames have the same id in every store, whatever their frame numbers or text form.

OHSC may add a fifth field to a line: ``|``-separated PDQ hashes of *variants* of the frame
(centre crops, the frame without black borders: :mod:`ohsc.signals.video_hashing`). They help matching
find cropped, letterboxed and watermarked copies, are not part of the vPDQ id, and exports leave
them out so that what leaves OHSC is plain vPDQ.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ohsc.errors import InvalidSignalError

if TYPE_CHECKING:  # numpy is imported where arrays are made: parsing vPDQ text does not need it
    import numpy as np
    import numpy.typing as npt

#: Frames a single vPDQ may hold (index labels keep 20 bits for the frame).
MAX_FRAMES = 1 << 20
ID_PREFIX = "vpdq-"
_ID = re.compile(r"^vpdq-[0-9a-f]{64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_BLOB_MAGIC = b"OVPDQ2\n\x00"


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    """One hashed frame: its number in the video, time in seconds (ms precision), PDQ and quality."""

    frame: int
    timestamp: float
    pdq: str
    quality: int
    #: PDQ of variants of the frame, for matching only (not part of vPDQ)
    variants: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "timestamp": self.timestamp, "pdq": self.pdq, "quality": self.quality}


#: Most variant hashes kept per frame.
MAX_VARIANTS = 8


def make_frame(
    frame: int, timestamp: float, pdq: str, quality: int, variants: Sequence[str] = ()
) -> VpdqFrame:
    """A validated frame; raises :class:`InvalidSignalError` with the reason."""
    pdq = pdq.strip().lower()
    if not _HEX64.match(pdq):
        raise InvalidSignalError("vpdq: each frame needs a 64-hex-digit PDQ hash")
    clean = tuple(v.strip().lower() for v in variants if v.strip())
    if len(clean) > MAX_VARIANTS or not all(_HEX64.match(v) for v in clean):
        raise InvalidSignalError(f"vpdq: frame variants must be at most {MAX_VARIANTS} PDQ hashes")
    if not 0 <= quality <= 100:
        raise InvalidSignalError(f"vpdq: frame quality must be 0..100, got {quality}")
    if not math.isfinite(timestamp) or timestamp < 0 or timestamp > 1e7:
        raise InvalidSignalError(f"vpdq: frame timestamp must be 0..1e7 seconds, got {timestamp}")
    if frame < 0 or frame > 2**31 - 1:
        raise InvalidSignalError(f"vpdq: frame number must be 0..2^31-1, got {frame}")
    return VpdqFrame(int(frame), round(float(timestamp), 3), pdq, int(quality), clean)


def _ms(timestamp: float) -> int:
    return round(timestamp * 1000)


def sort_frames(frames: Iterable[VpdqFrame]) -> list[VpdqFrame]:
    return sorted(frames, key=lambda f: (_ms(f.timestamp), f.frame))


def format_vpdq(frames: Sequence[VpdqFrame], sep: str = ";", *, variants: bool = True) -> str:
    """Meta's line format ``frame,quality,hex,timestamp`` (plus OHSC's variants unless
    ``variants=False``); ``sep="\\n"`` writes a .txt file."""
    return sep.join(
        f"{f.frame},{f.quality},{f.pdq},{f.timestamp:.3f}"
        + (f",{'|'.join(f.variants)}" if variants and f.variants else "")
        for f in frames
    )


def format_threatexchange(frames: Sequence[VpdqFrame]) -> str:
    """python-threatexchange's signal string: a JSON list of ``"hex,quality,timestamp"``."""
    return json.dumps([f"{f.pdq},{f.quality},{f.timestamp:.3f}" for f in frames])


def vpdq_id(frames: Sequence[VpdqFrame]) -> str:
    """The content id of a frame list (independent of frame numbers and text form)."""
    h = hashlib.sha256()
    for f in sort_frames(frames):
        h.update(f"{f.pdq},{f.quality},{_ms(f.timestamp)}\n".encode())
    return ID_PREFIX + h.hexdigest()


def is_vpdq_id(value: str) -> bool:
    return bool(_ID.match(value.strip().lower()))


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidSignalError(f"vpdq: {what} is not an integer: {text.strip()[:20]!r}") from None


def _float(text: str, what: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise InvalidSignalError(f"vpdq: {what} is not a number: {text.strip()[:20]!r}") from None


def _from_record(record: str, position: int) -> VpdqFrame:
    parts = record.split(",")
    if len(parts) == 5:  # OHSC: Meta's line and variants
        return make_frame(
            _int(parts[0], "frame"),
            _float(parts[3], "timestamp"),
            parts[2],
            _int(parts[1], "quality"),
            parts[4].split("|"),
        )
    if len(parts) == 4:  # Meta: frame,quality,hex,timestamp
        return make_frame(
            _int(parts[0], "frame"), _float(parts[3], "timestamp"), parts[2], _int(parts[1], "quality")
        )
    if len(parts) == 3:  # python-threatexchange: hex,quality,timestamp
        return make_frame(position, _float(parts[2], "timestamp"), parts[0], _int(parts[1], "quality"))
    raise InvalidSignalError(
        "vpdq: each frame is 'frame,quality,pdq,timestamp' (Meta) or 'pdq,quality,timestamp' (HMA)"
    )


def _from_json(obj: Any) -> list[VpdqFrame]:
    frames: list[VpdqFrame] = []
    if isinstance(obj, dict):  # python-threatexchange's old form: {frame: {quality, hash, timestamp}}
        items: list[Any] = []
        for key, value in obj.items():
            if not isinstance(value, dict):
                raise InvalidSignalError("vpdq: JSON object values must be objects")
            items.append({"frame": _int(str(key), "frame"), **value})
        obj = items
    if not isinstance(obj, list):
        raise InvalidSignalError("vpdq: JSON must be a list of frames")
    for position, item in enumerate(obj):
        if isinstance(item, str):
            frames.append(_from_record(item, position))
        elif isinstance(item, dict):
            pdq = item.get("pdq", item.get("hash"))
            number = item.get("frame", item.get("frame_number"))
            variants = item.get("variants") or []
            try:
                frames.append(
                    make_frame(
                        position if number is None else int(number),
                        float(item["timestamp"]),
                        str(pdq),
                        int(item["quality"]),
                        [str(v) for v in variants] if isinstance(variants, list) else [],
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidSignalError(
                    f"vpdq: frame {position} needs pdq, quality and timestamp ({exc})"
                ) from None
        else:
            raise InvalidSignalError("vpdq: JSON frames must be strings or objects")
        if len(frames) > MAX_FRAMES:
            break
    return frames


def parse_vpdq(text: str) -> list[VpdqFrame]:
    """Frames from any accepted text form, sorted by time; raises :class:`InvalidSignalError`."""
    if not isinstance(text, str):
        raise InvalidSignalError(f"vpdq: expected a string, got {type(text).__name__}")
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            obj = json.loads(stripped)
        except ValueError as exc:
            raise InvalidSignalError(f"vpdq: not valid JSON: {exc}") from None
        frames = _from_json(obj)
    else:
        frames = []
        for record in re.split(r"[;\r\n]+", stripped):
            record = record.strip()
            if not record or record.startswith("#"):
                continue
            frames.append(_from_record(record, len(frames)))
            if len(frames) > MAX_FRAMES:
                break
    if not frames:
        raise InvalidSignalError("vpdq: no frames")
    if len(frames) > MAX_FRAMES:
        raise InvalidSignalError(f"vpdq: more than {MAX_FRAMES} frames")
    return sort_frames(frames)


# --- compact binary form (the store keeps frames as one blob per vPDQ) -----------------------


@dataclass(frozen=True, slots=True)
class FrameArrays:
    """Frames as arrays: what the index and the matcher work with."""

    frame: npt.NDArray[np.int64]
    ms: npt.NDArray[np.int64]
    quality: npt.NDArray[np.uint8]
    codes: npt.NDArray[np.uint8]  # (n, 32)
    #: frame i's variant codes are ``variant_codes[variant_offsets[i]:variant_offsets[i + 1]]``
    variant_offsets: npt.NDArray[np.int64]
    variant_codes: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.ms)

    @classmethod
    def from_frames(cls, frames: Sequence[VpdqFrame]) -> FrameArrays:
        import numpy as np

        counts = [len(f.variants) for f in frames]
        return cls(
            frame=np.array([f.frame for f in frames], dtype=np.int64),
            ms=np.array([_ms(f.timestamp) for f in frames], dtype=np.int64),
            quality=np.array([f.quality for f in frames], dtype=np.uint8),
            codes=_codes([f.pdq for f in frames]),
            variant_offsets=np.cumsum([0, *counts]).astype(np.int64),
            variant_codes=_codes([v for f in frames for v in f.variants]),
        )

    def variants(self, i: int) -> npt.NDArray[np.uint8]:
        return self.variant_codes[self.variant_offsets[i] : self.variant_offsets[i + 1]]

    def to_frames(self, *, variants: bool = True) -> list[VpdqFrame]:
        hexes = self.codes.tobytes().hex()
        vhex = self.variant_codes.tobytes().hex() if variants else ""
        vo = self.variant_offsets.tolist()
        out = []
        for i, (fr, ms, q) in enumerate(
            zip(self.frame.tolist(), self.ms.tolist(), self.quality.tolist(), strict=True)
        ):
            vs = tuple(vhex[64 * k : 64 * (k + 1)] for k in range(vo[i], vo[i + 1])) if variants else ()
            out.append(VpdqFrame(int(fr), int(ms) / 1000, hexes[64 * i : 64 * (i + 1)], int(q), vs))
        return out

    @property
    def has_variants(self) -> bool:
        return len(self.variant_codes) > 0


def _codes(hexes: Sequence[str]) -> npt.NDArray[np.uint8]:
    import numpy as np

    if not hexes:
        return np.zeros((0, 32), np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32).copy()


def pack(frames: Sequence[VpdqFrame]) -> bytes:
    """One blob: magic, counts, then frame numbers, milliseconds, qualities, codes, variant
    offsets and variant codes."""
    a = FrameArrays.from_frames(frames)
    return b"".join(
        [
            _BLOB_MAGIC,
            struct.pack("<QQ", len(a), len(a.variant_codes)),
            a.frame.astype("<i8").tobytes(),
            a.ms.astype("<i8").tobytes(),
            a.quality.tobytes(),
            a.codes.tobytes(),
            a.variant_offsets.astype("<i8").tobytes(),
            a.variant_codes.tobytes(),
        ]
    )


def unpack(blob: bytes) -> FrameArrays:
    if blob[: len(_BLOB_MAGIC)] != _BLOB_MAGIC:
        raise ValueError("not a packed vPDQ")
    n, v = struct.unpack_from("<QQ", blob, len(_BLOB_MAGIC))
    pos = len(_BLOB_MAGIC) + 16
    if len(blob) != pos + n * (8 + 8 + 1 + 32) + (n + 1) * 8 + v * 32:
        raise ValueError("packed vPDQ has the wrong length")
    import numpy as np

    def take(dtype: str, count: int) -> npt.NDArray[Any]:
        nonlocal pos
        arr = np.frombuffer(blob, dtype, count, pos)
        pos += arr.nbytes
        return arr

    frame = take("<i8", n).astype(np.int64)
    ms = take("<i8", n).astype(np.int64)
    quality = take("u1", n).astype(np.uint8)
    codes = take("u1", 32 * n).reshape(n, 32).copy()
    offsets = take("<i8", n + 1).astype(np.int64)
    variant_codes = take("u1", 32 * v).reshape(v, 32).copy()
    return FrameArrays(frame, ms, quality, codes, offsets, variant_codes)
