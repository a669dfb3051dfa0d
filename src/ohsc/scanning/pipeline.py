"""The hashing pipeline of a scan: items go to a pool of workers (local processes, this thread, or
a cluster), at most a bounded number in flight; results come back in submission order. A worker
that dies is replaced; the items it held are retried one at a time, and the one that crashes the
worker again alone is the culprit (an error record)."""

from __future__ import annotations

import os
import queue
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from ohsc.scanning.items import Item
from ohsc.scanning.worker import init_worker, set_options
from ohsc.signals.files import FileSignals

if TYPE_CHECKING:
    from ohsc.scanning.runner import ScanOptions, ScanSummary

#: put on the item queue after the last item
DONE = object()

CRASHED = "the hashing worker crashed on this file (decoder fault); skipped"


class InlineExecutor(Executor):
    """Runs jobs in the calling thread (``ScanOptions.inline``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


class HashPipeline:
    """Feeds ``items`` to a worker pool and hands each item with its signals to ``finish``
    (with ``None`` when the item could not be hashed)."""

    def __init__(
        self,
        items: queue.Queue[Item | object],
        options: ScanOptions,
        summary: ScanSummary,
        finish: Callable[[Item, FileSignals | None], None],
        skipped: Callable[[Item], None],
    ) -> None:
        self.items, self.options, self.summary = items, options, summary
        self.finish, self.skipped = finish, skipped
        self.in_flight: dict[Future[FileSignals], Item] = {}
        self.retry_alone: list[Item] = []
        self.exhausted = False
        pool = options.pool
        self.max_in_flight = pool.in_flight(options) if pool is not None else max(2, options.workers * 3)
        # a pool whose workers cannot see our temporary files gets spilled archive members as bytes
        self.spilled_as_bytes = pool is not None and not pool.shares_temp_dir
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core per worker, no oversubscription
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        self.pool = self._new_pool()

    def _new_pool(self) -> Executor:
        options = self.options
        if options.pool is not None:
            return options.pool.open(options)
        if options.inline:
            set_options(options.hash)
            return InlineExecutor()
        return ProcessPoolExecutor(
            max_workers=options.workers,
            mp_context=get_context("spawn"),
            initializer=init_worker,
            initargs=(options.hash, os.getpid()),  # workers exit when this process ends
        )

    def run(self) -> None:
        try:
            while True:
                broken = self._fill()
                if not self.in_flight and not broken:
                    if self.exhausted and not self.retry_alone:
                        return
                    continue
                if self.in_flight:
                    broken = self._collect() or broken
                if broken:
                    self._restart()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _next_item(self) -> Item | None:
        while True:
            if self.retry_alone:
                return self.retry_alone.pop(0)
            if self.exhausted:
                return None
            try:
                got = self.items.get(timeout=0.05 if self.in_flight else 0.5)
            except queue.Empty:
                return None
            if got is DONE:
                self.exhausted = True
                return None
            assert isinstance(got, Item)
            if got.id in self.options.skip:
                self.summary.resumed_skipped += 1
                if got.temporary and got.path is not None:
                    got.path.unlink(missing_ok=True)
                self.skipped(got)
                continue
            if got.error is not None:
                self.finish(got, None)
                continue
            return got

    def _limit(self) -> int:
        """After a worker crash, suspects go through one at a time."""
        alone = self.retry_alone or any(i.suspect for i in self.in_flight.values())
        return 1 if alone else self.max_in_flight

    def _fill(self) -> bool:
        """Fill the pipeline; True when the pool turned out broken."""
        while len(self.in_flight) < self._limit():
            item = self._next_item()
            if item is None:
                return False
            path = item.url or (str(item.path) if item.path is not None else None)
            data = item.data
            if self.spilled_as_bytes and item.temporary and item.path is not None:
                path, data = None, item.path.read_bytes()
            try:
                self.in_flight[self.pool.submit(self.options.job, path, data)] = item
            except BrokenExecutor:
                self.retry_alone.insert(0, item)
                return True
        return False

    def _collect(self) -> bool:
        """Finish what is done, in submission order; True when a worker died."""
        broken = False
        done, _ = wait(list(self.in_flight), timeout=0.5, return_when=FIRST_COMPLETED)
        for fut in [f for f in self.in_flight if f in done]:
            item = self.in_flight.pop(fut)
            try:
                sig = fut.result()
            except BrokenExecutor:  # a local worker process or a pool's worker died
                broken = True
                if item.suspect and not self.in_flight:
                    # it crashed the worker while alone: it is the culprit
                    item.error, item.error_code = CRASHED, "worker_crash"
                    self.finish(item, None)
                else:
                    item.suspect = True
                    self.retry_alone.append(item)
                continue
            self.finish(item, sig)
        return broken

    def _restart(self) -> None:
        """A new pool; what the old one held is retried one at a time."""
        for fut, item in list(self.in_flight.items()):
            fut.cancel()
            item.suspect = True
            self.retry_alone.append(item)
        self.in_flight.clear()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()
