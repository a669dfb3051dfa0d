"""Read zip and tar(.gz) archives as streams of scan items, defensively.

Nothing is ever extracted under a member's own name: members are read into memory (or, when
large, into an anonymous temporary file) and hashed. Every hostile or broken member becomes an
item with a clear error and the walk goes on:

* names that are absolute or climb out with ``..`` (path traversal) are hashed in memory and
  flagged, never written anywhere;
* declared expansion ratios above ``archive_max_ratio``, members above
  ``archive_max_member_bytes``, more bytes than declared (lying headers), archives expanding
  beyond ``archive_max_total_bytes`` or holding more than ``archive_max_members``: refused;
* compressed tar streams (tar.gz) are measured while they are read: a member that has produced
  more than ``archive_max_ratio`` times the compressed bytes read for it (plus one read buffer,
  :data:`RATIO_SLACK`) is refused at once, and since a stream cannot skip a member without
  decompressing it, the rest of that archive is not read; a member above the size cap is skipped
  under the same check. An archive whose members together expand beyond ``archive_max_ratio``
  times the archive's own size (zip members that overlap) stops there too;
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
#: compressed bytes a member may be ahead of what was read for it (stream buffers), for the ratio
RATIO_SLACK = 64 * 1024
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
    def __init__(self, limits: ArchiveLimits, archive_bytes: int) -> None:
        self.limits = limits
        self.total = 0
        self.members = 0
        #: the whole archive may not expand more than the ratio (overlapping zip members)
        self.ratio_total = limits.max_ratio * (archive_bytes + RATIO_SLACK)

    def refusal(self, archive_id: str, size: int) -> Item | None:
        """The record that stops the archive when ``size`` more bytes would be too many."""
        if self.total + size > self.limits.max_total_bytes:
            return failed(
                f"{archive_id}{MEMBER_SEP}*",
                "archive_bomb",
                f"archive expands beyond {self.limits.max_total_bytes} bytes: the rest were not read",
            )
        if self.total + size > self.ratio_total:
            return failed(
                f"{archive_id}{MEMBER_SEP}*",
                "archive_bomb",
                f"archive expands more than {self.limits.max_ratio}:1 over its own size "
                "(overlapping members?): the rest were not read",
            )
        return None


class _TooBigError(Exception):
    pass


class _RatioError(Exception):
    """A member expanded beyond the ratio limit while it was read."""


class _CountingReader:
    """A file wrapper counting the (compressed) bytes read through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data


def _read_capped(
    fh: IO[bytes] | gzip.GzipFile,
    cap: int,
    *,
    ratio: tuple[_CountingReader, int] | None = None,
    keep: bool = True,
) -> bytes:
    """Read at most ``cap`` bytes; :class:`_TooBigError` if there is more.

    ``ratio`` (the compressed source and the limit): :class:`_RatioError` as soon as the bytes
    read exceed ``limit`` times the compressed bytes consumed meanwhile (plus :data:`RATIO_SLACK`).
    ``keep=False`` reads through without keeping anything (to skip a member).
    """
    chunks: list[bytes] = []
    size = 0
    start = ratio[0].count if ratio else 0
    while True:
        chunk = fh.read(min(READ_CHUNK, cap + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if keep:
            chunks.append(chunk)
        if size > cap:
            raise _TooBigError
        if ratio and size > ratio[1] * (ratio[0].count - start + RATIO_SLACK):
            raise _RatioError


def expand(archive_id: str, source: Path | bytes, limits: ArchiveLimits, depth: int = 1) -> Iterator[Item]:
    """Items for the members of the archive ``source`` (a path, or the archive's bytes)."""
    head = source[:SNIFF_BYTES] if isinstance(source, bytes) else _head(source)
    kind = archive_kind(head)
    budget = _Budget(limits, len(source) if isinstance(source, bytes) else source.stat().st_size)
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
        stop = budget.refusal(archive_id, info.file_size)
        if stop is not None:
            yield stop
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
        with _open(source) as raw, _stream(counter := _CountingReader(raw)) as tf:
            for info in tf:
                if info.isdir():
                    continue
                count += 1
                budget.members += 1
                if budget.members > limits.max_members:
                    yield failed(
                        f"{archive_id}{MEMBER_SEP}*",
                        "archive_limit",
                        f"more than {limits.max_members} members: the rest were not read",
                    )
                    return
                items, stop = _tar_member(archive_id, tf, info, counter, limits, depth, budget)
                yield from items
                if stop:
                    return
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        yield failed(
            f"{archive_id}{MEMBER_SEP}*",
            "archive_corrupt",
            f"archive is truncated or corrupt after {count} members: {exc}",
        )


def _stream(reader: _CountingReader) -> tarfile.TarFile:
    opened: tarfile.TarFile = tarfile.open(fileobj=reader, mode="r|*")  # type: ignore[call-overload]  # noqa: SIM115
    return opened


def _tar_member(
    archive_id: str,
    tf: tarfile.TarFile,
    info: tarfile.TarInfo,
    counter: _CountingReader,
    limits: ArchiveLimits,
    depth: int,
    budget: _Budget,
) -> tuple[Iterator[Item], bool]:
    """The items of one tar member, and whether the rest of the archive must not be read."""
    name = info.name
    item_id = f"{archive_id}{MEMBER_SEP}{display_name(name)}"
    ratio = (counter, limits.max_ratio)
    if info.issym() or info.islnk():
        return iter([failed(item_id, "archive_link", "link member not followed")]), False
    refused: Item | None = None
    if not info.isfile():
        refused = failed(item_id, "not_regular", "special file member (device or FIFO)")
    elif info.size > limits.max_member_bytes:
        refused = failed(item_id, "archive_member_too_large", f"member of {info.size} bytes, above the limit")
    if refused is not None:
        # a stream skips a member by decompressing it: do that here, under the ratio check
        bomb = _skip(archive_id, tf, info, ratio)
        return iter([refused] if bomb is None else [refused, bomb]), bomb is not None
    stop = budget.refusal(archive_id, info.size)
    if stop is not None:
        return iter([stop]), True
    fh = tf.extractfile(info)
    if fh is None:
        return iter([failed(item_id, "archive_member_corrupt", "member cannot be read")]), False
    try:
        data = _read_capped(fh, info.size, ratio=ratio)
    except _TooBigError:
        return iter([failed(item_id, "archive_bomb", "member larger than declared")]), False
    except _RatioError:
        return iter([_ratio_refusal(item_id, limits)]), True
    if len(data) != info.size:
        return iter([failed(item_id, "archive_member_corrupt", "member truncated")]), False
    budget.total += len(data)
    return _member_item(archive_id, name, data, limits, depth, unsafe_name(name)), False


def _ratio_refusal(item_id: str, limits: ArchiveLimits) -> Item:
    return failed(
        item_id,
        "archive_bomb",
        f"member expands more than {limits.max_ratio}:1 while being read (compression bomb); "
        "the rest of the archive was not read",
    )


def _skip(
    archive_id: str, tf: tarfile.TarFile, info: tarfile.TarInfo, ratio: tuple[_CountingReader, int]
) -> Item | None:
    """Read through a refused member's data; the record stopping the archive if it is a bomb."""
    fh = tf.extractfile(info) if info.size else None
    if fh is None:
        return None
    try:
        _read_capped(fh, info.size, ratio=ratio, keep=False)
    except _RatioError:
        return failed(
            f"{archive_id}{MEMBER_SEP}*",
            "archive_bomb",
            f"a refused member expands more than {ratio[1]}:1 (compression bomb): "
            "the rest of the archive was not read",
        )
    except _TooBigError:
        pass
    return None


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
