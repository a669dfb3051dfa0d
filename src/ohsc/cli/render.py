"""Small rendering helpers shared by commands."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape

from ohsc.cli.app import out


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def print_json(obj: Any) -> None:
    """One JSON document on one line of stdout (JSON Lines friendly)."""
    out.file.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    out.file.flush()


def e(text: object) -> str:
    """Escape for rich markup."""
    return escape(str(text))
