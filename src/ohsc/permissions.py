"""Owner-only files: what OHSC creates under ``OHSC_HOME`` (and its journals and keys) is readable
by the user running it and nobody else.

The data directory holds hashes, review media, evidence, keys and the SQLite store: folders are
created ``0700`` and files ``0600`` whatever the umask, and :func:`secure_home` tightens a data
directory that an older version (or a permissive umask) left readable by others, with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
#: group and other permission bits
_OTHERS = 0o077


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents owner-only (``0700``); existing folders are kept."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask; make it exact
    return path


def _open_fd(path: Path, append: bool, exclusive: bool) -> int:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    return os.open(path, flags | (os.O_EXCL if exclusive else 0), FILE_MODE)


def private_open(path: Path, *, append: bool = False, exclusive: bool = False) -> IO[bytes]:
    """Open ``path`` for writing bytes; a file created here is owner-only (``0600``)."""
    return os.fdopen(_open_fd(path, append, exclusive), "ab" if append else "wb")


def private_text(path: Path, *, append: bool = False) -> IO[str]:
    """Open ``path`` for writing UTF-8 text; a file created here is owner-only (``0600``)."""
    return os.fdopen(_open_fd(path, append, False), "a" if append else "w", encoding="utf-8")


def private_file(path: Path) -> None:
    """Make sure ``path`` exists (created empty and owner-only when it does not)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _tighten(path: Path, what: str) -> bool:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & _OTHERS or st.st_uid != os.geteuid():
        return False
    old = stat.S_IMODE(st.st_mode)
    new = old & ~_OTHERS
    os.chmod(path, new)
    log.warning("%s %s was readable by other users (mode %04o); made owner-only (%04o)", what, path, old, new)
    return True


def secure_home(home: Path) -> list[Path]:
    """Create the data directory owner-only, or tighten an existing one and what lies directly in it.

    Returns what was tightened (each with a warning in the log). Deeper files need no visit: a
    folder only its owner may enter protects everything below it.
    """
    if not home.exists():
        private_dir(home)
        return []
    changed = [home] if _tighten(home, "the data directory (OHSC_HOME)") else []
    if home.is_dir():
        for child in sorted(home.iterdir()):
            if _tighten(child, "the data directory's entry"):
                changed.append(child)
    return changed
