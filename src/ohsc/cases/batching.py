"""Hashed files applied to the case a batch at a time, in a writer thread beside the scan.

A batch is applied (items, locations, stacks: :class:`ohsc.cases.ingest.Applier`) when it holds
:data:`BATCH` records or :data:`BATCH_SECONDS` have gone by. The scan's main loop collects
hashed files from the workers and hands them new ones; while it applied a batch itself (0.1 s
and more at 256 files) the workers ran out of files and waited, which cost ingest a tenth of the
scan's rate. A writer thread applies the batches now, one at a time and in order; the journal
line of every record is written before the record reaches the batcher, so a record that a kill
leaves unapplied is replayed on the next run, as before.

At most two batches are held besides the one being filled: one being applied and one waiting
(adding blocks until the writer takes it). An error in the writer stops the applying and is
raised in the ingest's thread at the next batch or at :meth:`Batcher.close`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from ohsc.cases.ingest import Applier, FileTimes
    from ohsc.store.db import Store

#: records applied to the store in one transaction
BATCH = 256
#: and at least this often (seconds)
BATCH_SECONDS = 2.0

Batch = list[dict[str, Any]]


def writes_beside(store: Store) -> bool:
    """Whether a writer thread may use ``store``: not one bound to a single connection (tests on
    PostgreSQL; it takes no statements from a second thread), nor an in-memory SQLite database
    (each thread would open a database of its own)."""
    if store.bound:
        return False
    url = make_url(store.url)
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


class Batcher:
    """Collects records and applies them a batch at a time: in a writer thread when
    ``background`` (a store with a connection pool), else in the caller's thread (a store bound
    to one connection, which cannot take statements from two threads)."""

    def __init__(
        self,
        applier: Applier,
        times: Callable[[dict[str, Any]], FileTimes],
        on_applied: Callable[[dict[str, int]], None],
        *,
        background: bool = True,
    ) -> None:
        self.applier = applier
        self.times = times
        self.on_applied = on_applied
        self.pending: Batch = []
        self.last = time.monotonic()
        self._error: BaseException | None = None
        self._queue: queue.Queue[Batch | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=1)
            self._thread = threading.Thread(target=self._work, name="ohsc-case-writer", daemon=True)
            self._thread.start()

    def __enter__(self) -> Batcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def add(self, record: dict[str, Any]) -> None:
        self.pending.append(record)
        if len(self.pending) >= BATCH or time.monotonic() - self.last > BATCH_SECONDS:
            self._hand_over()

    def flush(self) -> None:
        """Apply what was added: everything is in the store when this returns."""
        self._hand_over()
        if self._queue is not None:
            self._queue.join()
        self._raise()

    def close(self) -> None:
        """Flush, then end the writer thread (also when the flush raises)."""
        try:
            self.flush()
        finally:
            if self._queue is not None and self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._queue = self._thread = None

    def _hand_over(self) -> None:
        self._raise()
        if self.pending:
            batch, self.pending = self.pending, []
            if self._queue is None:
                self.on_applied(self.applier.apply(batch, self.times))
            else:
                self._queue.put(batch)
        self.last = time.monotonic()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        assert self._queue is not None
        failed = False
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if not failed:  # after an error nothing more is applied (the journal has it)
                    self.on_applied(self.applier.apply(batch, self.times))
            except BaseException as exc:  # raised in the ingest's thread
                failed, self._error = True, exc
            finally:
                self._queue.task_done()
