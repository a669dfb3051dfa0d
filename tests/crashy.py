"""A hashing job that kills its worker process on one file (to test crash recovery)."""

from __future__ import annotations

import os

from ohsc.scanning.worker import hash_job
from ohsc.signals.files import FileSignals


def crash_on_poison(path: str | None, data: bytes | None) -> FileSignals:
    if (path and path.endswith("poison.jpg")) or (data and data.startswith(b"POISON")):
        os._exit(11)
    return hash_job(path, data)
