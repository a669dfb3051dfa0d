"""What a hashing worker process runs. Kept apart from the runner so that a worker imports only
the hashing code (numpy, Pillow, pdqhash), not the store, the matcher or the command line."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

from ohsc.signals.files import FileSignals, HashOptions, hash_bytes, hash_path

_OPTIONS: HashOptions | None = None


def set_options(options: HashOptions) -> None:
    global _OPTIONS
    _OPTIONS = options


def current_options() -> HashOptions:
    """The options :func:`set_options` gave this worker (the defaults before)."""
    return _OPTIONS or HashOptions()


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
#: how often the portable watchdog checks that the scanning process is still there
PARENT_POLL_SECONDS = 0.5


def init_worker(options: HashOptions, parent_pid: int | None = None) -> None:
    set_options(options)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    if parent_pid is not None:
        exit_with_parent(parent_pid)


def parent_death_signal_supported() -> bool:
    return sys.platform.startswith("linux")


def _set_parent_death_signal() -> bool:
    """Linux: have the kernel SIGKILL this process when its parent ends (``prctl``).

    The kernel sends it when the *thread* that started this process ends; the scanner starts
    its workers from the thread that runs the scan and shuts the pool down before returning.
    """
    if not parent_death_signal_supported():
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent_pid:  # re-parented: the scanning process is gone
            os._exit(1)


def exit_with_parent(parent_pid: int) -> None:
    """Make this worker exit when the scanning process ends, however it ends (``kill -9``).

    A worker's queue never reports the parent's death (every worker holds the pipe's writing
    end too), so without this it would wait, or go on hashing, for ever.
    """
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the signal was asked for
        os._exit(1)
    # everywhere (and should the signal be unavailable): a watchdog thread
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="ohsc-parent-watch", daemon=True).start()


def hash_job(path: str | None, data: bytes | None) -> FileSignals:
    """Hash ``data``, or the file at ``path``: a local path or an fsspec URL (``s3://...``)."""
    options = current_options()
    if data is not None:
        return hash_bytes(data, options)
    assert path is not None
    if "://" in path:
        from ohsc.scanning.remote import hash_url  # fsspec only where URLs are scanned

        return hash_url(path, options)
    return hash_path(Path(path), options)
