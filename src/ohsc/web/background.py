"""Background jobs of a server process: each in its own daemon thread, on its own interval.

A job that fails is logged and retried after a back-off (``OHSC_JOB_RETRY_SECONDS``, doubling
per consecutive failure up to ``OHSC_JOB_RETRY_MAX_SECONDS``), then returns to its interval
once it succeeds. Jobs are independent: one failing (or not started yet) never stops another.
Each keeps a :class:`JobStatus` that ``/health/ready`` reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ohsc.errors import OhscError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry delays after consecutive failures: ``first``, doubling, at most ``most`` seconds."""

    first: float = 1.0
    most: float = 300.0

    def delay(self, failures: int) -> float:
        return float(min(self.first * 2 ** max(0, failures - 1), self.most))


def error_name(exc: BaseException) -> str:
    """What went wrong, without the message (which may name hosts or paths: it goes to the log)."""
    name = type(exc).__name__
    return f"{name} ({exc.code})" if isinstance(exc, OhscError) else name


@dataclass(frozen=True, slots=True)
class JobStatus:
    name: str
    #: waiting (not run yet), ok, failing (retrying), done (a one-off that succeeded), stopped
    state: str
    runs: int
    failures: int
    consecutive_failures: int
    last_error: str | None
    last_failure_at: datetime | None
    last_success_at: datetime | None
    #: seconds until the next run (a retry when failing); None when it will not run again
    next_run_in: float | None
    #: a failure of this job makes the process not ready (e.g. stale indexes)
    critical: bool

    @property
    def failing(self) -> bool:
        return self.state == "failing"

    def to_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "runs": self.runs,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "last_failure_at": self.last_failure_at.isoformat() if self.last_failure_at else None,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "next_run_in": None if self.next_run_in is None else round(self.next_run_in, 1),
            "critical": self.critical,
        }


class PeriodicJob:
    """``fn`` every ``interval`` seconds (or until it first succeeds, when ``once``)."""

    def __init__(
        self,
        name: str,
        interval: float,
        fn: Callable[[], object],
        *,
        initial_delay: float = 0.0,
        backoff: Backoff | None = None,
        once: bool = False,
        critical: bool = False,
    ) -> None:
        self.name = name
        self.interval = interval
        self.fn = fn
        self.initial_delay = initial_delay
        self.backoff = backoff or Backoff()
        self.once = once
        self.critical = critical
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ohsc-{name}", daemon=True)
        self._lock = threading.Lock()
        self.runs = 0
        self.failures = 0
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.last_failure_at: datetime | None = None
        self.last_success_at: datetime | None = None
        self._next_at: float | None = time.monotonic() + initial_delay
        self._done = False

    def start(self) -> None:
        self._thread.start()

    def _wait(self, seconds: float) -> bool:
        """Sleep until the next run; True when the job was stopped meanwhile."""
        self._next_at = time.monotonic() + seconds
        return self._stop.wait(seconds)

    def run_once(self) -> bool:
        """One run, recorded; True when it succeeded."""
        try:
            self.fn()
        except Exception as exc:
            with self._lock:
                self.failures += 1
                self.consecutive_failures += 1
                self.last_error = error_name(exc)
                self.last_failure_at = datetime.now(UTC)
            log.exception(
                "background job %s failed (%d in a row); retrying in %.1f s",
                self.name,
                self.consecutive_failures,
                self.backoff.delay(self.consecutive_failures),
            )
            return False
        with self._lock:
            self.runs += 1
            if self.consecutive_failures:
                log.warning(
                    "background job %s recovered after %d failures", self.name, self.consecutive_failures
                )
            self.consecutive_failures = 0
            self.last_success_at = datetime.now(UTC)
        return True

    def _run(self) -> None:
        if self.initial_delay and self._wait(self.initial_delay):
            return
        while not self._stop.is_set():
            ok = self.run_once()
            if ok and self.once:
                self._done = True
                self._next_at = None
                return
            delay = self.interval if ok else self.backoff.delay(self.consecutive_failures)
            if self._wait(delay):
                return

    def status(self) -> JobStatus:
        with self._lock:
            if self._done:
                state = "done"
            elif self._stop.is_set():
                state = "stopped"
            elif self.consecutive_failures:
                state = "failing"
            elif self.runs:
                state = "ok"
            else:
                state = "waiting"
            next_at = self._next_at
            scheduled = next_at is not None and state not in ("done", "stopped")
            return JobStatus(
                name=self.name,
                state=state,
                runs=self.runs,
                failures=self.failures,
                consecutive_failures=self.consecutive_failures,
                last_error=self.last_error,
                last_failure_at=self.last_failure_at,
                last_success_at=self.last_success_at,
                next_run_in=max(0.0, next_at - time.monotonic()) if scheduled and next_at else None,
                critical=self.critical,
            )

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


class Jobs:
    """The jobs of one process."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.backoff = backoff or Backoff()
        self.jobs: list[PeriodicJob] = []

    def add(
        self,
        name: str,
        interval: float,
        fn: Callable[[], object],
        *,
        initial_delay: float = 0.0,
        once: bool = False,
        critical: bool = False,
    ) -> PeriodicJob:
        job = PeriodicJob(
            name,
            interval,
            fn,
            initial_delay=initial_delay,
            backoff=self.backoff,
            once=once,
            critical=critical,
        )
        self.jobs.append(job)
        job.start()
        return job

    def remove(self, name: str) -> None:
        """Stop the job of that name (if any) and forget it."""
        job = self.get(name)
        if job is not None:
            job.stop()
            self.jobs.remove(job)

    def get(self, name: str) -> PeriodicJob | None:
        return next((j for j in self.jobs if j.name == name), None)

    def statuses(self) -> list[JobStatus]:
        return [job.status() for job in self.jobs]

    def stop(self) -> None:
        for job in self.jobs:
            job._stop.set()
        for job in self.jobs:
            job.stop()
        self.jobs.clear()


class Tasks:
    """One-off work a request started (an import of an uploaded hash list), each in its own
    daemon thread. The work records its own outcome where users look (an import run's status);
    a failure is also logged here, by its type only. On shutdown :meth:`wait` gives running
    tasks a little time; one cut off says so itself (an import run left ``running``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[threading.Thread] = set()

    def start(self, name: str, fn: Callable[[], object]) -> None:
        def run() -> None:
            try:
                fn()
            except Exception as exc:
                log.warning("task %s failed: %s", name, error_name(exc))
            finally:
                with self._lock:
                    self._running.discard(thread)

        thread = threading.Thread(target=run, name=f"ohsc-task-{name}", daemon=True)
        with self._lock:
            self._running.add(thread)
        thread.start()

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def wait(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._running)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
