"""What a hashing worker process runs. Kept apart from the runner so that a worker imports only
the hashing code (numpy, Pillow, pdqhash), not the store, the matcher or the command line."""

from __future__ import annotations

import signal
from pathlib import Path

from ohsc.signals.files import FileSignals, HashOptions, hash_bytes, hash_path

_OPTIONS: HashOptions | None = None


def set_options(options: HashOptions) -> None:
    global _OPTIONS
    _OPTIONS = options


def init_worker(options: HashOptions) -> None:
    set_options(options)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means


def hash_job(path: str | None, data: bytes | None) -> FileSignals:
    options = _OPTIONS or HashOptions()
    if data is not None:
        return hash_bytes(data, options)
    assert path is not None
    return hash_path(Path(path), options)
