"""Where a scan's hashing runs: the interface a scan uses to hand work to something other than
its own worker processes.

The scanner walks, expands archives, matches and writes the journal in one process; only hashing
is handed out. By default it goes to local worker processes (``ScanOptions.pool`` None). A
:class:`HashPool` (``ohsc.cluster`` provides one for Dask) takes its place: the scanner asks it for a
:class:`concurrent.futures.Executor` and submits ``job(path, data)`` calls to it exactly as it does to
its own processes, so the journal, ``--resume``, progress and summary are the same code either way.
Scanning never imports a pool's implementation: the caller passes one in.
"""

from __future__ import annotations

from concurrent.futures import BrokenExecutor, Executor
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ohsc.scanning.runner import ScanOptions


class WorkerLostError(BrokenExecutor):
    """A pool's worker died while it held these items (a decoder fault, or the machine went away
    more often than the pool retries). The scanner retries them one at a time, as it does for a
    local worker process that crashed."""


class HashPool(Protocol):
    """Hashing somewhere else than this machine's worker processes."""

    #: do the pool's workers see this process's temporary files? When not, archive members the
    #: scanner spilled to a temporary file (the large ones) travel as bytes instead.
    shares_temp_dir: bool

    def open(self, options: ScanOptions) -> Executor:
        """An executor for one scan: ``submit(options.job, path, data)`` -> ``Future[FileSignals]``.
        A submission that fails with :class:`~concurrent.futures.BrokenExecutor` (``WorkerLostError``)
        is retried by the scanner, alone; any other exception ends the scan."""
        ...

    def in_flight(self, options: ScanOptions) -> int:
        """How many items the scanner keeps submitted at once (enough to keep every worker busy)."""
        ...
