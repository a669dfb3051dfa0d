"""A :class:`~ohsc.scanning.pools.HashPool` on a Dask cluster.

Items are grouped into batches (``batch_items`` files or ``batch_bytes`` of in-memory archive
members, whichever comes first; a partial batch leaves after ``linger`` seconds) and each batch is
one Dask task: the scheduler's cost per task (about a millisecond of its time) is paid once per
batch, not once per file. Results come back to the scanning process straight from the worker
that holds them (:func:`direct_to_workers`), and it matches them: one
index in memory, no index files to copy to every worker (see docs/benchmarks.md for the costs).

Faults: a worker that dies is Dask's business: its tasks run again elsewhere and each future
resolves once, so each file is reported once. A batch that killed workers more often than the
scheduler allows (``distributed.scheduler.allowed-failures``) fails with ``KilledWorker``: its items
go back to the scanner as :class:`~ohsc.scanning.pools.WorkerLostError` and are retried one at a
time, like a crash of a local worker. A scheduler that goes away fails the scan with
:class:`~ohsc.errors.ClusterUnavailableError`; the journal holds every record so far
(``--resume``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Executor, Future, InvalidStateError
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ohsc.cluster.tasks import hash_batch
from ohsc.errors import ClusterSupportMissingError, ClusterUnavailableError
from ohsc.scanning.pools import WorkerLostError
from ohsc.signals.files import HashOptions

if TYPE_CHECKING:
    from ohsc.scanning.runner import ScanOptions

#: ``distributed.Client`` and ``distributed.Future`` (untyped: Dask ships no complete annotations)
Client = Any
DaskFuture = Any

#: what a scan that lost its scheduler says to do
SCAN_HINT = "the records so far are kept: run again with --resume"

_Call = tuple[str | None, bytes | None, "Future[Any]"]


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ClusterSupportMissingError(
            "scanning on a cluster needs Dask: pip install 'ohsc[cluster]'"
        ) from exc
    return distributed


def connect(address: str, *, timeout: float = 10.0) -> Client:
    """A Dask client for the scheduler at ``address`` (``tcp://host:8786``)."""
    distributed = _distributed()
    try:
        client: Client = distributed.Client(
            address, timeout=timeout, set_as_default=False, direct_to_workers=direct_to_workers()
        )
    except (OSError, TimeoutError) as exc:
        raise ClusterUnavailableError(
            f"cannot reach the Dask scheduler at {address}: {exc.__class__.__name__}"
        ) from exc
    return client


def direct_to_workers() -> bool:
    """Fetch each batch's results from its worker, not through the scheduler: Dask's
    ``distributed.client.direct-to-workers`` when set (``DASK_DISTRIBUTED__CLIENT__DIRECT_TO_WORKERS=False``
    where the scanning machine cannot reach the workers), else True. Through the scheduler every
    result crosses two connections and the scheduler's event loop; directly, the scheduler only
    says where it is (docs/benchmarks.md: about a tenth of a 2-core cluster scan's CPU)."""
    import dask.config

    configured = dask.config.get("distributed.client.direct-to-workers", None)
    return True if configured is None else bool(configured)


@contextmanager
def cluster_pool(address: str, *, connect_seconds: float = 10.0, **kw: Any) -> Iterator[DaskPool]:
    client = connect(address, timeout=connect_seconds)
    try:
        yield DaskPool(client, **kw)
    finally:
        client.close(timeout=5)


@dataclass(slots=True)
class DaskPool:
    """Hash on the Dask cluster ``client`` is connected to."""

    client: Client
    batch_items: int = 16
    batch_bytes: int = 16 * 1024 * 1024
    linger: float = 0.02
    #: remote workers do not see the scanning machine's temporary files
    shares_temp_dir: bool = False
    #: what the error says to do when the scheduler goes away (a case ingest or a crawl resumes
    #: by running the same command again)
    lost_hint: str = SCAN_HINT

    def threads(self) -> int:
        """Worker threads on the cluster now (at least 1, so a scan waits for workers to join)."""
        try:
            return max(1, int(sum(self.client.nthreads().values())))
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailableError(f"the Dask scheduler did not answer: {exc}") from exc

    def open(self, options: ScanOptions) -> Executor:
        return self.executor(options.hash)

    def executor(self, options: HashOptions) -> BatchExecutor:
        """An executor of ``submit(job, path, data)`` calls in batches, each run on a worker after
        :func:`ohsc.scanning.worker.set_options` (``options``): a scan's, a case ingest's, or the
        crawler's (its job hashes media bytes, :func:`ohsc.removal.hashing.media_job`)."""
        return BatchExecutor(
            self.client, options, self.batch_items, self.batch_bytes, self.linger, self.lost_hint
        )

    def in_flight(self, options: ScanOptions) -> int:
        # two batches per worker thread (one running, one queued on the worker) plus one forming
        return self.batch_items * (2 * self.threads() + 1)


@dataclass(slots=True)
class _Batch:
    job: Callable[[str | None, bytes | None], object] | None = None
    calls: list[_Call] = field(default_factory=list)
    size: int = 0


class BatchExecutor(Executor):
    """Collects ``submit(job, path, data)`` calls into Dask tasks of many files each."""

    def __init__(
        self,
        client: Client,
        options: HashOptions,
        batch_items: int,
        batch_bytes: int,
        linger: float,
        lost_hint: str = SCAN_HINT,
    ) -> None:
        self._client = client
        self._hint = lost_hint
        self._options = options
        self._batch_items = max(1, batch_items)
        self._batch_bytes = batch_bytes
        self._linger = linger
        self._lock = threading.Lock()
        self._batch = _Batch()
        self._timer: threading.Timer | None = None
        self._tasks: set[DaskFuture] = set()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        path, data = args
        fut: Future[Any] = Future()
        if path is not None and "://" not in path:
            path = os.path.abspath(path)  # workers start elsewhere; a shared store has one path
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit after shutdown")
            if self._batch.job is not None and self._batch.job is not fn:
                self._flush_locked()
            self._batch.job = fn
            self._batch.calls.append((path, data, fut))
            self._batch.size += len(data) if data is not None else 0
            if len(self._batch.calls) >= self._batch_items or self._batch.size >= self._batch_bytes:
                self._flush_locked()
            elif self._timer is None:
                self._timer = threading.Timer(self._linger, self._flush)
                self._timer.daemon = True
                self._timer.start()
        return fut

    def _flush(self) -> None:
        with self._lock:
            if not self._closed:
                self._flush_locked()

    def _flush_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._batch = self._batch, _Batch()
        if not batch.calls:
            return
        futures = [f for _, _, f in batch.calls]
        try:
            task = self._client.submit(
                hash_batch, batch.job, self._options, [(p, d) for p, d, _ in batch.calls], pure=False
            )
        except Exception as exc:  # the client is closed or lost its scheduler
            _fail(futures, _lost(exc, self._hint))
            return
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._settle(t, futures))

    def _settle(self, task: DaskFuture, futures: list[Future[Any]]) -> None:
        self._tasks.discard(task)
        if task.status == "finished":
            try:
                results = task.result()
            except Exception as exc:  # lost between the status and the result
                _fail(futures, _lost(exc, self._hint))
                return
            for fut, res in zip(futures, results, strict=True):
                _settle_one(fut, res)
            return
        if task.status == "error":
            error = task.exception()
            if type(error).__name__ == "KilledWorker":
                _fail(futures, WorkerLostError(f"Dask workers died running this batch: {error}"))
            else:
                _fail(futures, error if isinstance(error, BaseException) else RuntimeError(str(error)))
            return
        _fail(futures, _lost(None, self._hint))  # cancelled or lost: the scheduler went away

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            if cancel_futures:
                pending = [f for _, _, f in self._batch.calls]
                self._batch = _Batch()
                for fut in pending:
                    fut.cancel()
            else:
                self._flush_locked()
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            tasks = list(self._tasks)
        if cancel_futures and tasks and self._client.status == "running":
            with contextlib.suppress(Exception):  # the scheduler may be gone: nothing left to cancel
                self._client.cancel(tasks)


def _lost(exc: BaseException | None, hint: str) -> ClusterUnavailableError:
    why = f" ({exc.__class__.__name__})" if exc is not None else ""
    return ClusterUnavailableError(f"lost the Dask scheduler while hashing{why}; {hint}")


def _settle_one(fut: Future[Any], res: object) -> None:
    try:
        if isinstance(res, BaseException):
            fut.set_exception(res)
        else:
            fut.set_result(res)
    except InvalidStateError:  # cancelled by the scanner meanwhile
        pass


def _fail(futures: list[Future[Any]], exc: BaseException) -> None:
    for fut in futures:
        if isinstance(exc, CancelledError):
            fut.cancel()
        else:
            _settle_one(fut, exc)
