"""Expansion-ratio caps for archive members: a tar.gz member of zeros (a gzip bomb) is refused
while it is being read, with bounded memory and a clear record; zip archives whose members
overlap (so that the archive expands far beyond its own size) stop too. Archives are generated."""

from __future__ import annotations

import io
import random
import tarfile
import tracemalloc
import zipfile
import zlib
from pathlib import Path

from ohsc.scanning.archives import ArchiveLimits, expand
from ohsc.scanning.items import Item

MB = 1024 * 1024


def _member(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info.tobuf(format=tarfile.GNU_FORMAT) + data + bytes(-len(data) % 512)


def _tar_gz_of_zeros(
    member_bytes: int, after: dict[str, bytes] | None = None, before: dict[str, bytes] | None = None
) -> bytes:
    """A tar.gz with a member of ``member_bytes`` zeros, compressed as it is generated."""
    out = io.BytesIO()
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip container
    for name, data in (before or {}).items():
        out.write(gz.compress(_member(name, data)))
    info = tarfile.TarInfo("zeros.bin")
    info.size = member_bytes
    out.write(gz.compress(info.tobuf(format=tarfile.GNU_FORMAT)))
    chunk = bytes(MB)
    left = member_bytes
    while left:
        n = min(left, MB)
        out.write(gz.compress(chunk[:n]))
        left -= n
    out.write(gz.compress(bytes(-member_bytes % 512)))
    for name, data in (after or {}).items():
        out.write(gz.compress(_member(name, data)))
    out.write(gz.compress(bytes(1024)))  # end of archive
    out.write(gz.flush())
    return out.getvalue()


def _items(source: Path | bytes, limits: ArchiveLimits) -> list[Item]:
    items = list(expand("a.tar.gz", source, limits))
    for item in items:
        if item.temporary and item.path is not None:
            item.path.unlink()
    return items


def test_a_gzip_bomb_member_is_refused_while_reading_with_bounded_memory(tmp_path: Path) -> None:
    # a megabyte of noise first, so that the bomb's declared size is within 200:1 of the archive's
    cover = random.Random(2).randbytes(MB)
    bomb = _tar_gz_of_zeros(96 * MB, before={"cover.bin": cover}, after={"later.txt": b"hello"})
    assert len(bomb) < MB + 200_000  # the zeros compress ~1000:1
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(bomb)
    tracemalloc.start()
    try:
        items = _items(path, ArchiveLimits(temp_dir=tmp_path))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 56 * MB, f"peak {peak / MB:.0f} MiB"  # reading it whole took 117 MiB
    by_id = {i.id: i for i in items}
    refused = by_id["a.tar.gz!zeros.bin"]
    assert refused.error_code == "archive_bomb"
    assert refused.error is not None and "200:1" in refused.error and "not read" in refused.error
    assert refused.data is None and refused.path is None
    assert "a.tar.gz!later.txt" not in by_id  # reading on would mean decompressing the bomb
    assert by_id["a.tar.gz!cover.bin"].error_code is None


def test_a_member_declaring_more_than_the_ratio_of_the_archive_is_not_read(tmp_path: Path) -> None:
    bomb = _tar_gz_of_zeros(48 * MB, after={"later.txt": b"hello"})
    [stop] = _items(bomb, ArchiveLimits(temp_dir=tmp_path))
    assert (stop.id, stop.error_code) == ("a.tar.gz!*", "archive_bomb")
    assert stop.error is not None and "over its own size" in stop.error


def test_an_oversized_bomb_member_is_not_decompressed_to_skip_it(tmp_path: Path) -> None:
    """A member above the size cap is skipped by reading through it; a bomb stops that too."""
    bomb = _tar_gz_of_zeros(64 * MB, after={"later.txt": b"hello"})
    items = _items(bomb, ArchiveLimits(max_member_bytes=MB, temp_dir=tmp_path))
    codes = [(i.id, i.error_code) for i in items]
    assert codes[0] == ("a.tar.gz!zeros.bin", "archive_member_too_large")
    assert codes[1] == ("a.tar.gz!*", "archive_bomb")
    assert len(codes) == 2


def test_ordinary_tar_gz_members_pass(tmp_path: Path) -> None:
    text = b"".join(b"line %d of an ordinary log file, nothing special\n" % i for i in range(40_000))
    noise = zlib.compress(text) * 3  # incompressible
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("log.txt", text), ("noise.bin", noise), ("small.txt", b"x" * 1000)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    items = _items(buf.getvalue(), ArchiveLimits(temp_dir=tmp_path))
    assert [(i.id, i.error_code, i.size) for i in items] == [
        ("a.tar.gz!log.txt", None, len(text)),
        ("a.tar.gz!noise.bin", None, len(noise)),
        ("a.tar.gz!small.txt", None, 1000),
    ]


def test_overlapping_zip_members_cannot_expand_the_archive_beyond_the_ratio(tmp_path: Path) -> None:
    """Many central-directory entries pointing at one compressed member (a non-recursive zip bomb):
    each member is within the ratio, the archive as a whole is not."""
    buf = io.BytesIO()
    data = random.Random(1).randbytes(100_000)  # incompressible: each member is ~1:1
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m0.bin", data)
    raw = bytearray(buf.getvalue())
    cd_at = raw.rfind(b"PK\x01\x02")
    eocd_at = raw.rfind(b"PK\x05\x06")
    entry = bytes(raw[cd_at:eocd_at])
    copies = 1000
    central = entry * copies
    eocd = bytearray(raw[eocd_at:])
    eocd[8:10] = eocd[10:12] = copies.to_bytes(2, "little")
    eocd[12:16] = len(central).to_bytes(4, "little")
    bomb = bytes(raw[:cd_at]) + central + bytes(eocd)
    items = _items(bomb, ArchiveLimits(temp_dir=tmp_path))
    ok = [i for i in items if i.error_code is None]
    stopped = [i for i in items if i.error_code == "archive_bomb"]
    expanded = sum(i.size or 0 for i in ok)
    assert stopped and stopped[-1].id == "a.tar.gz!*"
    assert expanded <= 200 * len(bomb) + 64 * 1024 * 200
    assert len(ok) < copies
