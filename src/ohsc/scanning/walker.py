"""Walk a folder without surprises: sorted, symlinks followed once, loops and special files reported."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ohsc.scanning.items import Item, failed


def walk(root: Path, prefix: str | None = None) -> Iterator[Item]:
    """Yield one :class:`Item` per regular file under ``root`` (or ``root`` itself if a file).

    Item ids are paths relative to ``root`` (a file's id is its name), each preceded by
    ``prefix/`` when given. Directory symlinks are followed; a directory reached twice (a loop)
    is reported, not re-entered.
    """
    try:
        st = os.stat(root)
    except OSError as exc:
        yield failed(prefix or str(root), "unreadable", _reason(exc))
        return
    if not stat.S_ISDIR(st.st_mode):
        yield from _file(root, prefix or root.name)
        return
    visited: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack: list[tuple[Path, str]] = [(root, prefix.rstrip("/") if prefix else "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield failed(rel or ".", "unreadable", f"cannot list folder: {_reason(exc)}")
            continue
        subdirs: list[tuple[Path, str]] = []
        for entry in entries:
            item_id = f"{rel}/{entry.name}" if rel else entry.name
            path = Path(entry.path)
            try:
                is_link = entry.is_symlink()
                target = entry.stat(follow_symlinks=True)
            except OSError as exc:
                code = "symlink_loop" if exc.errno == errno.ELOOP else "unreadable"
                reason = _reason(exc)
                if exc.errno == errno.ENOENT and entry.is_symlink():
                    reason = "dangling symlink"
                yield failed(item_id, code, reason)
                continue
            if stat.S_ISDIR(target.st_mode):
                key = (target.st_dev, target.st_ino)
                if key in visited:
                    yield failed(
                        item_id,
                        "symlink_loop",
                        "symlink loop: this folder was already scanned"
                        if is_link
                        else "folder reached twice",
                    )
                    continue
                visited.add(key)
                subdirs.append((path, item_id))
            elif stat.S_ISREG(target.st_mode):
                yield Item(id=item_id, path=path, size=target.st_size)
            else:
                yield failed(item_id, "not_regular", "not a regular file (device, FIFO or socket)")
        stack.extend(reversed(subdirs))


def _file(path: Path, item_id: str) -> Iterator[Item]:
    try:
        st = os.stat(path)
    except OSError as exc:
        yield failed(item_id, "unreadable", _reason(exc))
        return
    if stat.S_ISREG(st.st_mode):
        yield Item(id=item_id, path=path, size=st.st_size)
    else:
        yield failed(item_id, "not_regular", "not a regular file")


def count_files(root: Path, limit: int = 10_000_000) -> int:
    """Fast count of regular files (for the progress bar's total); follows the same rules."""
    try:
        if not os.path.isdir(root):
            return 1
    except OSError:
        return 1
    n = 0
    visited: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack and n < limit:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in visited:
                continue
            visited.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=True):
                            stack.append(entry.path)
                        else:
                            n += 1
                    except OSError:
                        n += 1
        except OSError:
            continue
    return n


def _reason(exc: OSError) -> str:
    reasons = {
        errno.ELOOP: "symlink loop",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOENT: "no such file",
        errno.ENAMETOOLONG: "path too long",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))
