"""Scan sources named by fsspec URLs: ``s3://bucket/prefix`` (any S3-compatible store),
``file:///shared/case-42`` (a folder on shared storage), and any other protocol fsspec knows.

The scanning process lists the objects; whoever hashes (a local worker process or a Dask worker)
reads each object itself, so on a cluster the bytes go from the store to the workers, not through
the scanning machine. Credentials and endpoints come from the usual places of each protocol (for
S3: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for a store that is not
AWS), on the scanning machine and on every worker. fsspec is imported only when a URL is scanned
(``pip install 'ohsc[cluster]'`` brings it with s3fs).
"""

from __future__ import annotations

import posixpath
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ohsc.errors import ConfigError
from ohsc.scanning.items import Item, failed
from ohsc.signals.files import CHUNK, FileSignals, HashOptions, hash_stream
from ohsc.signals.sniff import SNIFF_BYTES

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and _SCHEME.match(source) is not None


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError as exc:
        raise ConfigError("scanning URLs needs fsspec: pip install 'ohsc[cluster]'") from exc
    try:
        fs, path = url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"cannot scan {url.split('://', 1)[0]}:// URLs: {exc}") from exc
    return fs, str(path)


def walk_url(url: str, prefix: str | None = None) -> Iterator[Item]:
    """One :class:`Item` per object under ``url`` (sorted; ids relative to it, like a folder's)."""
    fs, root = _filesystem(url)
    root = root.rstrip("/")
    try:
        if fs.isfile(root):
            info = fs.info(root)
            yield Item(id=prefix or posixpath.basename(root), url=url, size=info.get("size"))
            return
        found = fs.find(root, detail=True)
    except OSError as exc:
        yield failed(prefix or url, "unreadable", f"cannot list {url}: {exc.__class__.__name__}")
        return
    base = prefix.rstrip("/") if prefix else ""
    for path in sorted(found):
        info = found[path]
        if info.get("type", "file") != "file":
            continue
        rel = path[len(root) :].lstrip("/") if path.startswith(root) else posixpath.basename(path)
        yield Item(id=f"{base}/{rel}" if base else rel, url=fs.unstrip_protocol(path), size=info.get("size"))


def count_url(url: str) -> int:
    fs, root = _filesystem(url)
    try:
        root = root.rstrip("/")
        return 1 if fs.isfile(root) else len(fs.find(root))
    except OSError:
        return 1


def read_head(url: str) -> bytes:
    fs, path = _filesystem(url)
    with fs.open(path, "rb") as fh:
        head: bytes = fh.read(SNIFF_BYTES)
    return head


def download(url: str, dest: Path, max_bytes: int) -> bool:
    """Copy the object to ``dest`` (an archive to expand); False when it is above ``max_bytes``."""
    fs, path = _filesystem(url)
    with fs.open(path, "rb") as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out, CHUNK)
    if dest.stat().st_size > max_bytes:
        dest.unlink()
        return False
    return True


def hash_url(url: str, options: HashOptions) -> FileSignals:
    """Hash one object; errors (missing, refused, too large to decode) come back in the record."""
    try:
        fs, path = _filesystem(url)
        with fs.open(path, "rb") as fh:
            return hash_stream(fh, options)
    except OSError as exc:
        return FileSignals(error=f"cannot read {url}: {exc.__class__.__name__}", error_code="unreadable")
