"""What a hashing worker runs for a case: the scan's hashing, plus the EXIF fields triage uses
(camera make, model and serial, when the picture was taken) as text."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from ohsc.scanning.worker import hash_job
from ohsc.signals.files import FileSignals
from ohsc.signals.sniff import MediaKind

#: EXIF tags kept, by number (IFD0 and the Exif IFD): name shown to analysts
_IFD0 = {0x010F: "Make", 0x0110: "Model", 0x0131: "Software", 0x0132: "DateTime", 0x0112: "Orientation"}
_EXIF_IFD = 0x8769
_EXIF = {
    0x9003: "DateTimeOriginal",
    0x9004: "DateTimeDigitized",
    0xA431: "BodySerialNumber",
    0xA434: "LensModel",
    0xA002: "PixelXDimension",
    0xA003: "PixelYDimension",
}
_MAX_TEXT = 200


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    text = str(value).replace("\x00", "").strip()
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:_MAX_TEXT] or None


def read_exif(source: Path | bytes) -> dict[str, str]:
    """The kept EXIF fields of a picture as text; empty when it has none or cannot be read."""
    from PIL import Image

    out: dict[str, str] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fh: Any = io.BytesIO(source) if isinstance(source, bytes) else source
            with Image.open(fh) as im:  # reads headers only
                out["Width"], out["Height"] = str(im.width), str(im.height)
                exif = im.getexif()
                for tag, name in _IFD0.items():
                    if tag in exif and (text := _text(exif[tag])):
                        out[name] = text
                sub = exif.get_ifd(_EXIF_IFD)
                for tag, name in _EXIF.items():
                    if tag in sub and (text := _text(sub[tag])):
                        out[name] = text
    except Exception:  # a broken header only means no EXIF
        return out
    return out


def case_job(path: str | None, data: bytes | None) -> FileSignals:
    """The scan's hashes (vPDQ for videos), the EXIF fields of pictures, and a keyframe strip
    of videos (base64 in ``extra["strip"]``: the ingest keeps it as a file, not in the journal)."""
    sig = hash_job(path, data)
    if sig.kind is MediaKind.IMAGE and sig.md5 is not None:
        exif = read_exif(data if data is not None else Path(path or ""))
        if exif:
            sig.extra["exif"] = exif
    elif (
        sig.kind is MediaKind.VIDEO
        and sig.md5 is not None
        and (data is not None or "://" not in (path or "://"))
    ):
        from ohsc.cases.strips import encode, keyframe_strip

        strip = keyframe_strip(data if data is not None else Path(path or ""))
        if strip is not None:
            sig.extra["strip"] = encode(strip)
    return sig
