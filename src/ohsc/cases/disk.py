"""Disk images (raw/dd; E01 with libewf-python) read through The Sleuth Kit (``pytsk3``, the
optional extra ``forensics``): every regular file of every file system, deleted ones flagged.

Recognised by content: a FAT, NTFS or ext boot record, a partition table, or the EWF signature.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ohsc.cases.ingest import FileTimes, _stamp
from ohsc.errors import ConfigError
from ohsc.scanning.archives import ArchiveLimits, expand
from ohsc.scanning.items import Item, failed
from ohsc.scanning.runner import ProgressSink, Scanner, ScanOptions
from ohsc.signals.sniff import SNIFF_BYTES, archive_kind

if TYPE_CHECKING:
    from ohsc.settings import Settings

_EWF = b"EVF\x09\x0d\x0a\xff\x00"


def is_disk_image(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if head.startswith(_EWF):
        return True
    if len(head) < 1084:
        return False
    boot = head[510:512] == b"\x55\xaa"
    fat = head[54:59] in (b"FAT12", b"FAT16") or head[82:87] == b"FAT32"
    ntfs = head[3:11] == b"NTFS    "
    ext = head[1080:1082] == b"\x53\xef"
    return (boot and (fat or ntfs)) or ext or (boot and head[446] in (0x00, 0x80) and head[450] != 0)


def _tsk() -> Any:
    try:
        import pytsk3
    except ImportError:
        raise ConfigError(
            "disk images need The Sleuth Kit's Python binding: pip install 'ohsc[forensics]'"
        ) from None
    return pytsk3


def _open_image(path: Path) -> Any:
    """A pytsk3 image: raw/dd directly, E01 through libewf-python (``pyewf``) when installed."""
    pytsk3 = _tsk()
    with path.open("rb") as fh:
        ewf = fh.read(8) == _EWF
    if not ewf:
        return pytsk3.Img_Info(str(path))
    try:
        import pyewf
    except ImportError:
        raise ConfigError("E01 images need libewf-python: pip install 'ohsc[forensics]'") from None

    class _EwfImage(pytsk3.Img_Info):  # type: ignore[misc, name-defined]
        def __init__(self, handle: Any) -> None:
            self._handle = handle
            super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

        def close(self) -> None:
            self._handle.close()

        def read(self, offset: int, size: int) -> bytes:
            self._handle.seek(offset)
            return bytes(self._handle.read(size))

        def get_size(self) -> int:
            return int(self._handle.get_media_size())

    try:  # the other segments (.E02, ...) by the first one's name
        segments = pyewf.glob(str(path))
    except OSError:  # a name libewf does not know (recognised by content here): one segment
        segments = [str(path)]
    handle = pyewf.handle()
    handle.open(segments)
    return _EwfImage(handle)


def _file_systems(img: Any) -> Iterator[tuple[int, Any]]:
    """(byte offset, file system) of every file system: each partition's, or the whole image's."""
    pytsk3 = _tsk()
    try:
        volume = pytsk3.Volume_Info(img)
    except OSError:
        volume = None
    found = False
    if volume is not None:
        block = volume.info.block_size
        for part in volume:
            if part.flags != pytsk3.TSK_VS_PART_FLAG_ALLOC or part.len <= 0:
                continue
            try:
                fs = pytsk3.FS_Info(img, offset=part.start * block)
            except OSError:
                continue
            found = True
            yield part.start * block, fs
    if not found:
        try:
            fs = pytsk3.FS_Info(img)
        except OSError as exc:
            raise ConfigError(f"no file system found in the disk image: {exc}") from None
        yield 0, fs


def _prefix(offset: int) -> str:
    return f"@{offset}/" if offset else ""


def disk_items(
    path: Path, limits: ArchiveLimits, times: dict[str, FileTimes], max_bytes: int
) -> Iterator[Item]:
    """Every regular file of every file system in the image (deleted ones too, flagged), and the
    members of archives among them. Their file-system times go to ``times`` by item id."""
    pytsk3 = _tsk()
    img = _open_image(path)
    for offset, fs in _file_systems(img):
        seen_dirs: set[int] = set()
        stack: list[tuple[Any, str]] = [(fs.open_dir(path="/"), "")]
        while stack:
            directory, rel = stack.pop()
            for entry in directory:
                name = entry.info.name.name.decode("utf-8", "replace")
                meta = entry.info.meta
                if name in (".", "..") or meta is None or name.startswith("$"):
                    continue
                item_id = f"{_prefix(offset)}{rel}{name}"
                deleted = bool(entry.info.name.flags & pytsk3.TSK_FS_NAME_FLAG_UNALLOC) or bool(
                    meta.flags & pytsk3.TSK_FS_META_FLAG_UNALLOC
                )
                if meta.type == pytsk3.TSK_FS_META_TYPE_DIR:
                    if meta.addr not in seen_dirs and not deleted:
                        seen_dirs.add(meta.addr)
                        try:
                            stack.append((entry.as_directory(), f"{rel}{name}/"))
                        except OSError:
                            yield failed(item_id, "unreadable", "cannot list folder")
                    continue
                if meta.type != pytsk3.TSK_FS_META_TYPE_REG:
                    continue
                if deleted:
                    item_id = f"{item_id} (deleted, inode {meta.addr})"
                times[item_id] = FileTimes(
                    _stamp(meta.mtime), _stamp(meta.atime), _stamp(meta.ctime), deleted
                )
                size = int(meta.size)
                if size > max_bytes:
                    yield failed(item_id, "file_too_large", f"{size} bytes, above the limit")
                    continue
                try:
                    data = bytes(entry.read_random(0, size)) if size else b""
                except OSError:
                    yield failed(item_id, "unreadable", "its content cannot be read (overwritten?)")
                    continue
                if archive_kind(data[:SNIFF_BYTES]) is not None and limits.max_depth > 0:
                    yield from expand(item_id, data, limits)
                yield Item(id=item_id, data=data, size=len(data))


class DiskScanner(Scanner):
    """The scan pipeline (workers, matching) fed from a disk image instead of a folder walk."""

    def __init__(self, settings: Settings, matcher: Any, times: dict[str, FileTimes]) -> None:
        super().__init__(settings, matcher)
        self.times = times

    def _items(
        self, roots: list[Path | str], options: ScanOptions, limits: ArchiveLimits, progress: ProgressSink
    ) -> Iterator[Item]:
        for root in roots:  # disk images are local files (scan roots may also be URLs)
            for item in disk_items(Path(root), limits, self.times, self.settings.max_file_bytes):
                progress.add_total(1)
                yield item


def read_file(image: Path, item_id: str) -> bytes | None:
    """One file of a disk image by its item id (``DCIM/a.jpg``, ``@1048576/DCIM/a.jpg``)."""
    pytsk3 = _tsk()
    offset = 0
    rel = item_id
    if rel.startswith("@") and "/" in rel:
        head, rel = rel[1:].split("/", 1)
        offset = int(head) if head.isascii() and head.isdigit() else 0
    fs = pytsk3.FS_Info(_open_image(image), offset=offset)
    if " (deleted, inode " in rel:
        f = fs.open_meta(inode=int(rel.rsplit(" ", 1)[1].rstrip(")")))
    else:
        f = fs.open("/" + rel)
    size = int(f.info.meta.size)
    return bytes(f.read_random(0, size)) if size else b""
