"""Group commit for content records: many request threads, one writer, one transaction per batch.

Most submissions match nothing and write one row. Committing each in its own transaction from
dozens of request threads makes them queue on the database's write lock (SQLite) or on a log
flush each (PostgreSQL). Here request threads hand their row to one writer thread and wait; the
writer inserts whatever has queued up meanwhile in one statement and one commit, and answers
every waiter with its row id (or its own error: a batch that fails is retried row by row).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from ohsc.content.models import ContentRow
from ohsc.errors import StoreError
from ohsc.store.db import Store

MAX_BATCH = 500


@dataclass(eq=False)
class _Pending:
    values: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    row_id: int | None = None
    error: BaseException | None = None
    #: set for waiters on an event loop (``insert_async``)
    future: asyncio.Future[int] | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def finish(self) -> None:
        self.done.set()
        if self.future is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        assert self.future is not None
        if self.future.done():
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            assert self.row_id is not None
            self.future.set_result(self.row_id)


_STOP = object()


class RecordWriter:
    def __init__(self, store: Store, *, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.batches = 0
        self.rows = 0

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ohsc-record-writer", daemon=True)
                self._thread.start()

    def insert(self, values: dict[str, Any], timeout: float = 60.0) -> int:
        """Insert one content record; returns its id once committed."""
        if self._closed:
            raise StoreError("the record writer is closed")
        self._ensure_thread()
        pending = _Pending(values)
        self._queue.put(pending)
        if not pending.done.wait(timeout):
            raise StoreError("timed out waiting for the database")
        if pending.error is not None:
            raise pending.error
        assert pending.row_id is not None
        return pending.row_id

    async def insert_async(self, values: dict[str, Any]) -> int:
        """:meth:`insert` for a coroutine: the event loop is not blocked while the batch commits."""
        if self._closed:
            raise StoreError("the record writer is closed")
        self._ensure_thread()
        loop = asyncio.get_running_loop()
        pending = _Pending(values, future=loop.create_future(), loop=loop)
        self._queue.put(pending)
        assert pending.future is not None
        # no extra timer task on the hot path: the writer answers every row, with an id or an error
        return await pending.future

    def close(self, timeout: float = 10.0) -> None:
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Pending)
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                assert isinstance(nxt, _Pending)
                batch.append(nxt)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with self.store.write_lock(), self.store.session() as s:
                # a Core statement on the session's connection: the ORM's bulk path costs 3x more
                ids = (
                    s.connection()
                    .execute(
                        insert(ContentRow).returning(ContentRow.id, sort_by_parameter_order=True),
                        [p.values for p in batch],
                    )
                    .scalars()
                    .all()
                )
            for p, row_id in zip(batch, ids, strict=True):
                p.row_id = int(row_id)
            self.batches += 1
            self.rows += len(batch)
        except BaseException as exc:
            if len(batch) > 1:  # one bad row (a repeated content_id) must not fail the others
                for p in batch:
                    self._write([p])
                return
            batch[0].error = exc
        for p in batch:
            p.finish()
