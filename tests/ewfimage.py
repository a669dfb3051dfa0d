"""A single-segment EnCase (E01) image of a raw image, written here in Python: no ``ewfacquire``
is needed, and the libewf-python wheel cannot write (it is built without zlib). Chunks are stored
uncompressed (each with its Adler-32), as EnCase does for chunks that do not compress; the header
text is zlib-compressed as the format requires. Enough for libewf to read it back."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"
SECTOR = 512
PER_CHUNK = 64
CHUNK = SECTOR * PER_CHUNK
DESCRIPTOR = 76


def _adler(data: bytes) -> int:
    return zlib.adler32(data) & 0xFFFFFFFF


def _descriptor(kind: bytes, at: int, size: int, nxt: int | None = None) -> bytes:
    head = kind.ljust(16, b"\0") + struct.pack("<QQ", at + size if nxt is None else nxt, size) + bytes(40)
    return head + struct.pack("<I", _adler(head))


def _header() -> bytes:
    text = (
        "1\r\nmain\r\nc\tn\ta\te\tt\tav\tov\tm\tu\tp\tr\r\n"
        "1\tcard\ttest image\texaminer\tbenign pictures\t1\tLinux\t2024 5 6 10 20 30\t2024 5 6 10 20 30\t0\tf\r\n\r\n"
    )
    return zlib.compress(text.encode("ascii"))


def _volume(chunks: int, sectors: int) -> bytes:
    data = bytearray(1048)
    struct.pack_into("<B3xIIIQIIII", data, 0, 1, chunks, PER_CHUNK, SECTOR, sectors, 0, 0, 0, 1)
    data[56] = 0  # no compression
    struct.pack_into("<I", data, 60, PER_CHUNK)  # error granularity
    return bytes(data) + struct.pack("<I", _adler(bytes(data)))


def _table(offsets: list[int], base: int) -> bytes:
    head = struct.pack("<I4xQ4x", len(offsets), base)
    entries = b"".join(struct.pack("<I", o) for o in offsets)
    return head + struct.pack("<I", _adler(head)) + entries + struct.pack("<I", _adler(entries))


def ewf_image(raw: Path, path: Path) -> Path:
    """Write ``raw`` (a whole number of sectors) as the E01 image ``path``."""
    data = raw.read_bytes()
    if len(data) % SECTOR:
        raise ValueError("a raw image is a whole number of sectors")
    out = bytearray(SIGNATURE + b"\x01" + struct.pack("<H", 1) + b"\0\0")
    for kind, body in (
        (b"header", _header()),
        (b"volume", _volume(-(-len(data) // CHUNK), len(data) // SECTOR)),
    ):
        out += _descriptor(kind, len(out), DESCRIPTOR + len(body)) + body
    sectors_at = len(out)
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    stored = b"".join(c + struct.pack("<I", _adler(c)) for c in chunks)
    out += _descriptor(b"sectors", sectors_at, DESCRIPTOR + len(stored))
    base = len(out)
    offsets = [i * (CHUNK + 4) for i in range(len(chunks))]
    out += stored
    # offsets in the table are relative to the sectors section's start
    rel = [sectors_at + DESCRIPTOR + o - sectors_at for o in offsets]
    for kind in (b"table", b"table2"):
        body = _table(rel, sectors_at)
        out += _descriptor(kind, len(out), DESCRIPTOR + len(body)) + body
    out += _descriptor(b"done", len(out), DESCRIPTOR, nxt=len(out))
    del base
    path.write_bytes(bytes(out))
    return path
