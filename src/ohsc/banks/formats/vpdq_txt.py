"""Meta's vPDQ hash file (``vpdq-hash-video`` output, ThreatExchange ``sample-hashes``) as a
bank import format: one file, one video (``frame,quality,pdq_hex,timestamp`` per line).

``ohsc bank import known clip.txt --format vpdq-txt``. Exports use jsonl or csv, whose vpdq
values are the same lines joined with ``;``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from ohsc.banks.formats.base import HashListFormat, ReadItem
from ohsc.banks.model import EntryInput, RowError
from ohsc.errors import FormatError

#: A video's hash file is small (about 80 bytes a frame); refuse what cannot be one.
MAX_BYTES = 256 * 1024 * 1024


class VpdqTxtFormat(HashListFormat):
    name = "vpdq-txt"
    description = "Meta's vPDQ hash file: one video, 'frame,quality,pdq_hex,timestamp' per line"
    can_write = False

    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise FormatError(f"a vPDQ hash file is at most {MAX_BYTES} bytes")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError(f"not UTF-8 text: {exc.reason}") from exc
        if not text.strip():
            return
        if text.lstrip()[:1] not in "0123456789":
            yield RowError(1, "not a vPDQ hash file (lines of frame,quality,pdq_hex,timestamp)")
            return
        yield EntryInput(signal_type="vpdq", value=text, line=1)
