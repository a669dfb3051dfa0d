"""The scan journal: one JSON line per finished item. It is also the scan's output, and what
``--resume`` reads to skip finished items after a crash or ``kill -9``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from ohsc.permissions import private_dir, private_text


def finished_ids(path: Path) -> set[str]:
    """Item ids recorded in a journal; a torn last line (killed mid-write) is cut off."""
    done: set[str] = set()
    if not path.exists():
        return done
    good_end = 0
    with path.open("rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                obj = json.loads(line)
            except ValueError:
                break
            if isinstance(obj, dict) and isinstance(obj.get("path"), str):
                done.add(obj["path"])
            good_end += len(line)
    if good_end != path.stat().st_size:
        with path.open("r+b") as fh:
            fh.truncate(good_end)
    return done


class Journal:
    """Append records as JSON lines, flushed one by one (``-`` writes to standard output)."""

    def __init__(self, path: Path | None, *, append: bool) -> None:
        self.path = path
        self._fh: IO[str]
        if path is None or str(path) == "-":
            self._fh = sys.stdout
            self._own = False
        else:
            private_dir(path.parent)
            self._fh = private_text(path, append=append)
            self._own = True

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._own:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
