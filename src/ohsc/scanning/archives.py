"""Read zip and tar(.gz) archives as streams of scan items, defensively.

Nothing is ever extracted under a member's own name: members are read into memory (or, when
large, into an anonymous temporary file) and hashed. Every hostile or broken member becomes an
item with a clear error and the walk goes on:

* names that are absolute or climb out with ``..`` (path traversal) are hashed in memory and
  flagged, never written anywhere;
* declared expansion ratios above ``archive_max_ratio``, members above
  ``archive_max_member_bytes``, more bytes than declared (lying headers), archives expanding
  beyond ``archive_max_total_bytes`` or holding more than ``archive_max_members``: refused;
* encrypted, corrupt (CRC) or truncated members, link and device members: refused;
* archives inside archives are opened down to ``archive_max_depth``.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from ohsc.scanning.items import MEMBER_SEP, Item, failed
from ohsc.settings import Settings
from ohsc.signals.sniff import SNIFF_BYTES, ArchiveKind, archive_kind

READ_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_depth: int = 3
    max_ratio: int = 200
    max_member_bytes: int = 512 * 1024 * 1024
    max_total_bytes: int = 64 * 1024**3
    max_members: int = 1_000_000
    #: members up to this size travel to the hashing workers in memory; larger ones via a temp file
    inline_bytes: int = 32 * 1024 * 1024
    temp_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings, temp_dir: Path | None = None) -> ArchiveLimits:
        return cls(
            max_depth=settings.archive_max_depth,
            max_ratio=settings.archive_max_ratio,
            max_member_bytes=settings.archive_max_member_bytes,
            max_total_bytes=settings.archive_max_total_bytes,
            max_members=settings.archive_max_members,
            temp_dir=temp_dir,
        )


def display_name(name: str) -> str:
    """A member name safe to print and log (control characters replaced)."""
    return _CONTROL.sub("?", name)


def unsafe_name(name: str) -> str | None:
    """Why a member name would be dangerous to extract, or None."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute member path"
    if ".." in re.split(r"[\\/]+", name):
        return "path traversal (..) in member name"
    if "\x00" in name:
        return "NUL byte in member name"
    return None


class _Budget:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.total = 0
        self.members = 0


class _TooBigError(Exception):
    pass


def _read_capped(fh: IO[bytes] | gzip.GzipFile, cap: int) -> bytes:
    """Read at most ``cap`` bytes; :class:`_TooBigError` if there is more."""
    buf = io.BytesIO()
    while True:
        chunk = fh.read(min(READ_CHUNK, cap + 1 - buf.tell()))
        if not chunk:
            return buf.getvalue()
        buf.write(chunk)
        if buf.tell() > cap:
            raise _TooBigError


def expand(archive_id: str, source: Path | bytes, limits: ArchiveLimits, depth: int = 1) -> Iterator[Item]:
    """Items for the members of the archive ``source`` (a path, or the archive's bytes)."""
    head = source[:SNIFF_BYTES] if isinstance(source, bytes) else _head(source)
    kind = archive_kind(head)
    budget = _Budget(limits)
    if kind is ArchiveKind.ZIP:
        yield from _zip(archive_id, source, limits, depth, budget)
    elif kind in (ArchiveKind.TAR, ArchiveKind.GZIP):
        yield from _tar_or_gzip(archive_id, source, limits, depth, budget, kind)


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(SNIFF_BYTES)


def _open(source: Path | bytes) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else path_open(source)


def path_open(path: Path) -> BinaryIO:
    return path.open("rb")


def _member_item(
    archive_id: str, name: str, data: bytes, limits: ArchiveLimits, depth: int, warning: str | None
) -> Iterator[Item]:
    """The member itself, preceded by its own members when it is an archive too."""
    item_id = f"{archive_id}{MEMBER_SEP}{display_name(name)}"
    nested = archive_kind(data[:SNIFF_BYTES])
    if nested is not None:
        if depth < limits.max_depth:
            yield from expand(item_id, data, limits, depth + 1)
        else:
            warning = (
                warning + "; " if warning else ""
            ) + f"nested archive not opened (depth limit {limits.max_depth})"
    if len(data) <= limits.inline_bytes:
        yield Item(id=item_id, data=data, size=len(data), warning=warning, depth=depth)
        return
    tmp = tempfile.NamedTemporaryFile(prefix="ohsc-member-", dir=limits.temp_dir, delete=False)  # noqa: SIM115
    with tmp:
        tmp.write(data)
    yield Item(id=item_id, path=Path(tmp.name), size=len(data), warning=warning, temporary=True, depth=depth)


def _zip(
    archive_id: str, source: Path | bytes, limits: ArchiveLimits, depth: int, budget: _Budget
) -> Iterator[Item]:
    with _open(source) as raw:
        try:
            zf = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            yield failed(f"{archive_id}{MEMBER_SEP}*", "archive_corrupt", f"cannot open zip archive: {exc}")
            return
        with zf:
            yield from _zip_members(archive_id, zf, limits, depth, budget)


def _zip_members(
    archive_id: str, zf: zipfile.ZipFile, limits: ArchiveLimits, depth: int, budget: _Budget
) -> Iterator[Item]:
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = info.filename
        item_id = f"{archive_id}{MEMBER_SEP}{display_name(name)}"
        budget.members += 1
        if budget.members > limits.max_members:
            yield failed(
                f"{archive_id}{MEMBER_SEP}*",
                "archive_limit",
                f"more than {limits.max_members} members: the rest were not read",
            )
            return
        if info.flag_bits & 0x1:
            yield failed(
                item_id, "archive_encrypted", "encrypted member: cannot be read without the password"
            )
            continue
        if info.file_size > limits.max_member_bytes:
            yield failed(
                item_id,
                "archive_member_too_large",
                f"member declares {info.file_size} bytes, above the limit",
            )
            continue
        if info.file_size and (
            info.compress_size == 0 or info.file_size / info.compress_size > limits.max_ratio
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            yield failed(
                item_id,
                "archive_bomb",
                f"compression ratio {ratio:.0f}:1 above the limit of {limits.max_ratio}:1 (zip bomb)",
            )
            continue
        if budget.total + info.file_size > limits.max_total_bytes:
            yield failed(
                f"{archive_id}{MEMBER_SEP}*",
                "archive_bomb",
                f"archive expands beyond {limits.max_total_bytes} bytes: the rest were not read",
            )
            return
        try:
            with zf.open(info) as fh:
                data = _read_capped(fh, info.file_size)  # never more than declared
        except _TooBigError:
            yield failed(item_id, "archive_bomb", "member expands beyond its declared size (lying header)")
            continue
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as exc:
            yield failed(item_id, "archive_member_corrupt", f"corrupt member: {exc}")
            continue
        budget.total += len(data)
        yield from _member_item(archive_id, name, data, limits, depth, unsafe_name(name))


def _tar_or_gzip(
    archive_id: str,
    source: Path | bytes,
    limits: ArchiveLimits,
    depth: int,
    budget: _Budget,
    kind: ArchiveKind,
) -> Iterator[Item]:
    if kind is ArchiveKind.GZIP:
        # a .tar.gz, or one gzip-compressed file
        try:
            with _open(source) as raw, gzip.GzipFile(fileobj=raw) as gz:
                inner_head = gz.read(SNIFF_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            yield failed(f"{archive_id}{MEMBER_SEP}*", "archive_corrupt", f"cannot read gzip stream: {exc}")
            return
        if archive_kind(inner_head) is not ArchiveKind.TAR:
            yield from _gzip_single(archive_id, source, limits, depth)
            return
    count = 0
    try:
        with _open(source) as raw, tarfile.open(fileobj=raw, mode="r|*") as tf:
            for info in tf:
                if info.isdir():
                    continue
                count += 1
                name = info.name
                item_id = f"{archive_id}{MEMBER_SEP}{display_name(name)}"
                budget.members += 1
                if budget.members > limits.max_members:
                    yield failed(
                        f"{archive_id}{MEMBER_SEP}*",
                        "archive_limit",
                        f"more than {limits.max_members} members: the rest were not read",
                    )
                    return
                if info.issym() or info.islnk():
                    yield failed(item_id, "archive_link", "link member not followed")
                    continue
                if not info.isfile():
                    yield failed(item_id, "not_regular", "special file member (device or FIFO)")
                    continue
                if info.size > limits.max_member_bytes:
                    yield failed(
                        item_id, "archive_member_too_large", f"member of {info.size} bytes, above the limit"
                    )
                    continue
                if budget.total + info.size > limits.max_total_bytes:
                    yield failed(
                        f"{archive_id}{MEMBER_SEP}*",
                        "archive_bomb",
                        f"archive expands beyond {limits.max_total_bytes} bytes: the rest were not read",
                    )
                    return
                fh = tf.extractfile(info)
                if fh is None:
                    yield failed(item_id, "archive_member_corrupt", "member cannot be read")
                    continue
                try:
                    data = _read_capped(fh, info.size)
                except _TooBigError:
                    yield failed(item_id, "archive_bomb", "member larger than declared")
                    continue
                if len(data) != info.size:
                    yield failed(item_id, "archive_member_corrupt", "member truncated")
                    continue
                budget.total += len(data)
                yield from _member_item(archive_id, name, data, limits, depth, unsafe_name(name))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        yield failed(
            f"{archive_id}{MEMBER_SEP}*",
            "archive_corrupt",
            f"archive is truncated or corrupt after {count} members: {exc}",
        )


def _gzip_single(archive_id: str, source: Path | bytes, limits: ArchiveLimits, depth: int) -> Iterator[Item]:
    name = archive_id.rsplit("/", 1)[-1].rsplit(MEMBER_SEP, 1)[-1]
    name = name[:-3] if name.lower().endswith(".gz") else name + ".uncompressed"
    compressed = len(source) if isinstance(source, bytes) else source.stat().st_size
    cap = min(limits.max_member_bytes, max(compressed, 1) * limits.max_ratio)
    try:
        with _open(source) as raw, gzip.GzipFile(fileobj=raw) as gz:
            data = _read_capped(gz, cap)
    except _TooBigError:
        yield failed(
            f"{archive_id}{MEMBER_SEP}{display_name(name)}",
            "archive_bomb",
            f"gzip stream expands beyond {cap} bytes (ratio limit {limits.max_ratio}:1)",
        )
        return
    except (OSError, EOFError, zlib.error) as exc:
        yield failed(
            f"{archive_id}{MEMBER_SEP}{display_name(name)}", "archive_member_corrupt", f"corrupt gzip: {exc}"
        )
        return
    yield from _member_item(archive_id, name, data, limits, depth, None)
