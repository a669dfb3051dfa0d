"""Cursor paging for every list: ``?limit=&cursor=``, answered with ``{"items", "next_cursor"}``.

A cursor is an opaque token (base64url JSON); clients pass it back unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ohsc.errors import InvalidInputError

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(position: int) -> str:
    raw = json.dumps({"p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)["p"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidInputError("invalid cursor: pass back next_cursor unchanged") from None
    if not isinstance(position, int):
        raise InvalidInputError("invalid cursor: pass back next_cursor unchanged")
    return position


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be 1 to {MAX_LIMIT}")
    return limit


def page(
    items: Sequence[T], limit: int, position: Callable[[T], int], render: Callable[[T], Any]
) -> dict[str, Any]:
    """``items`` was fetched with ``limit + 1``: the extra one says whether there is more."""
    more = len(items) > limit
    shown = list(items[:limit])
    return {
        "items": [render(x) for x in shown],
        "next_cursor": encode_cursor(position(shown[-1])) if more and shown else None,
    }
