"""Background work of a server process: fresh indexes, compaction, webhook delivery, retention.

Each job runs in its own daemon thread on its own interval; a failing run is logged and retried
at the next tick. Several processes may run the same jobs against one database: index refresh
is per process by design, the outbox and retention jobs are safe to run concurrently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicJob:
    def __init__(
        self, name: str, interval: float, fn: Callable[[], object], *, initial_delay: float = 0.0
    ) -> None:
        self.name = name
        self.interval = interval
        self.fn = fn
        self.initial_delay = initial_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ohsc-{name}", daemon=True)
        self.runs = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        if self.initial_delay and self._stop.wait(self.initial_delay):
            return
        while not self._stop.is_set():
            try:
                self.fn()
                self.runs += 1
            except Exception:
                self.failures += 1
                log.exception("background job %s failed; retrying in %.0f s", self.name, self.interval)
            if self._stop.wait(self.interval):
                return

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


class Jobs:
    def __init__(self) -> None:
        self.jobs: list[PeriodicJob] = []

    def add(
        self, name: str, interval: float, fn: Callable[[], object], *, initial_delay: float = 0.0
    ) -> PeriodicJob:
        job = PeriodicJob(name, interval, fn, initial_delay=initial_delay)
        self.jobs.append(job)
        job.start()
        return job

    def stop(self) -> None:
        for job in self.jobs:
            job._stop.set()
        for job in self.jobs:
            job.stop()
        self.jobs.clear()
