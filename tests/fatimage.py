"""A small FAT12 disk image of given files, written here in Python (no mkfs.fat or mtools
needed, so the disk-image tests run on a fresh clone): folders one level deep, and files marked
deleted the way FAT deletes them (the name's first byte 0xE5, clusters freed, data left)."""

from __future__ import annotations

import struct
from pathlib import Path

SECTOR = 512
PER_CLUSTER = 4  # sectors
CLUSTER = SECTOR * PER_CLUSTER
TOTAL = 8192  # sectors: a 4 MiB image
RESERVED = 1
FATS = 2
ROOT_ENTRIES = 512
FAT_SECTORS = 6  # FAT12: 2048 clusters need 3072 bytes
ROOT_SECTORS = ROOT_ENTRIES * 32 // SECTOR
DATA = RESERVED + FATS * FAT_SECTORS + ROOT_SECTORS  # first data sector
#: 2024-05-06 10:20:30, DOS date and time
DOS_DATE = ((2024 - 1980) << 9) | (5 << 5) | 6
DOS_TIME = (10 << 11) | (20 << 5) | (30 // 2)


def _boot() -> bytes:
    b = bytearray(SECTOR)
    b[0:3] = b"\xeb\x3c\x90"
    b[3:11] = b"MSWIN4.1"
    struct.pack_into("<HBHBHHBHHHII", b, 11, SECTOR, PER_CLUSTER, RESERVED, FATS, ROOT_ENTRIES, TOTAL, 0xF8, FAT_SECTORS, 32, 64, 0, 0)  # fmt: skip
    struct.pack_into("<BBBI11s8s", b, 36, 0x80, 0, 0x29, 0x1234ABCD, b"OHSC TEST  ", b"FAT12   ")
    b[510:512] = b"\x55\xaa"
    return bytes(b)


def _short(name: str) -> bytes:
    stem, _, ext = name.upper().partition(".")
    if not (0 < len(stem) <= 8 and len(ext) <= 3):
        raise ValueError(f"{name}: test images take 8.3 names only")
    return stem.ljust(8).encode() + ext.ljust(3).encode()


def _entry(name: bytes, attr: int, cluster: int, size: int) -> bytes:
    return struct.pack(
        "<11sBBBHHHHHHHI",
        name,
        attr,
        0,
        0,
        DOS_TIME,
        DOS_DATE,
        DOS_DATE,
        0,
        DOS_TIME,
        DOS_DATE,
        cluster,
        size,
    )


class _Builder:
    def __init__(self) -> None:
        self.fat: dict[int, int] = {0: 0xFF8, 1: 0xFFF}
        self.clusters: dict[int, bytes] = {}
        self.next = 2

    def put(self, data: bytes, *, free: bool = False) -> int:
        """Store ``data`` in consecutive clusters; the first one's number (0 when empty)."""
        if not data:
            return 0
        first = self.next
        count = -(-len(data) // CLUSTER)
        for i in range(count):
            n = first + i
            self.clusters[n] = data[i * CLUSTER : (i + 1) * CLUSTER]
            if not free:
                self.fat[n] = n + 1 if i < count - 1 else 0xFFF
        self.next = first + count
        return first

    def fat_bytes(self) -> bytes:
        out = bytearray(FAT_SECTORS * SECTOR)
        for n, value in self.fat.items():
            at = n * 3 // 2
            word = struct.unpack_from("<H", out, at)[0]
            word = (word & 0x000F) | (value << 4) if n % 2 else (word & 0xF000) | value
            struct.pack_into("<H", out, at, word & 0xFFFF)
        return bytes(out)


def _entries(b: _Builder, files: dict[str, bytes], deleted: set[str]) -> list[bytes]:
    out = []
    for name, data in files.items():
        raw = _short(name)
        if name in deleted:
            raw = b"\xe5" + raw[1:]
        out.append(_entry(raw, 0x20, b.put(data, free=name in deleted), len(data)))
    return out


def fat_image(path: Path, files: dict[str, bytes], delete: list[str] = ()) -> Path:  # type: ignore[assignment]
    """Write a FAT12 image holding ``files`` (``"DCIM/A.JPG"`` or ``"COPY.JPG"``) to ``path``."""
    b = _Builder()
    folders: dict[str, dict[str, bytes]] = {}
    top: dict[str, bytes] = {}
    for name, data in files.items():
        if "/" in name:
            folder, leaf = name.split("/", 1)
            folders.setdefault(folder, {})[leaf] = data
        else:
            top[name] = data
    gone = set(delete)
    root = _entries(b, top, gone)
    for folder, inner in folders.items():
        first = b.next  # the folder's own cluster comes first, its files after it
        b.next += 1
        here = [_entry(b".          ", 0x10, first, 0), _entry(b"..         ", 0x10, 0, 0)]
        here += _entries(b, inner, {n.split("/", 1)[1] for n in gone if n.startswith(folder + "/")})
        listing = b"".join(here).ljust(CLUSTER, b"\0")
        b.clusters[first] = listing
        b.fat[first] = 0xFFF
        root.append(_entry(_short(folder), 0x10, first, 0))
    image = bytearray(TOTAL * SECTOR)
    image[0:SECTOR] = _boot()
    fat = b.fat_bytes()
    for i in range(FATS):
        start = (RESERVED + i * FAT_SECTORS) * SECTOR
        image[start : start + len(fat)] = fat
    root_at = (RESERVED + FATS * FAT_SECTORS) * SECTOR
    listing = b"".join(root)
    image[root_at : root_at + len(listing)] = listing
    for n, data in b.clusters.items():
        at = (DATA + (n - 2) * PER_CLUSTER) * SECTOR
        image[at : at + len(data)] = data
    path.write_bytes(bytes(image))
    return path
