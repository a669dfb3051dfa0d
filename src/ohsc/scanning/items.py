"""Scan items: one file on disk or one archive member, with its display path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Separates an archive's path from a member's path in item ids: ``photos.zip!dir/a.jpg``.
MEMBER_SEP = "!"


@dataclass(slots=True)
class Item:
    """Something to hash. Exactly one of ``path``/``data``/``url`` is set unless ``error`` is."""

    id: str
    path: Path | None = None
    data: bytes | None = None
    #: set when the item cannot be hashed at all (symlink loop, zip bomb, ...)
    error: str | None = None
    error_code: str | None = None
    #: a problem noted while the content was still hashed (e.g. path-traversal member name)
    warning: str | None = None
    #: temporary file to delete once hashed (large archive members)
    temporary: bool = False
    size: int | None = None
    #: how deep inside archives (0: a file on disk)
    depth: int = 0
    #: was in flight when a hashing worker died: retried alone
    suspect: bool = False
    #: an object in a store (fsspec URL: ``s3://bucket/key``); the hashing worker reads it
    url: str | None = None


def failed(item_id: str, code: str, message: str) -> Item:
    return Item(id=item_id, error=message, error_code=code)
