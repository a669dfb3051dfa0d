"""One unit of work for "store a blob, insert its rows, write the audit event".

Blob stores are not transactional, so the order is what keeps them consistent with the database:

* a blob is written *before* the rows that name it (``work.put``), and removed again when the
  transaction does not commit: no orphaned blob;
* a blob that rows stop naming is deleted only *after* the transaction commits
  (``work.release``): no row ever names a missing blob.

A unit that stores a blob must also write an audit event (``ohsc.audit.record`` in
``work.session``); one that does not is a programming error and is rolled back. When the
connection is lost while committing, whether the commit happened is unknown: the blobs written
are then kept (an orphan at worst, never a row naming a missing blob) and their ids logged.

    with unit_of_work(store, blobs) as work:
        blob_id = work.put("evidence", data)
        work.session.add(EvidenceItemRow(blob_id=blob_id, ...))
        audit.record(work.session, ...)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ohsc.store.db import Store, audit_events_in

log = logging.getLogger(__name__)


class BlobWriter(Protocol):
    """What a unit of work needs of a blob store (``ohsc.media.blobs.BlobStore`` has it)."""

    def put(self, namespace: str, data: bytes) -> str: ...

    def delete(self, namespace: str, blob_id: str) -> bool: ...


class UnitOfWork:
    """A transaction (``session``) and the blobs it writes and releases."""

    def __init__(self, session: Session, blobs: BlobWriter | None) -> None:
        self.session = session
        self._blobs = blobs
        self._audited_before = audit_events_in(session)
        self.written: list[tuple[str, str]] = []
        self.released: list[tuple[str, str]] = []

    @property
    def blobs(self) -> BlobWriter:
        if self._blobs is None:
            raise RuntimeError("this unit of work has no blob store")
        return self._blobs

    def put(self, namespace: str, data: bytes) -> str:
        """Store ``data`` now; it is removed again unless the transaction commits."""
        blob_id = self.blobs.put(namespace, data)
        self.written.append((namespace, blob_id))
        return blob_id

    def release(self, namespace: str, blob_id: str | None) -> None:
        """Delete a blob once the transaction has committed (the rows no longer name it)."""
        if blob_id:
            self.released.append((namespace, blob_id))

    def check(self) -> None:
        if self.written and audit_events_in(self.session) == self._audited_before:
            raise RuntimeError("a unit of work stored a blob without writing an audit event")

    def _delete(self, blobs: list[tuple[str, str]], why: str) -> None:
        for namespace, blob_id in blobs:
            try:
                self.blobs.delete(namespace, blob_id)
            except Exception:  # the original outcome matters more; the blob is an orphan at worst
                log.exception("could not delete blob %s/%s (%s)", namespace, blob_id, why)


@contextmanager
def unit_of_work(store: Store, blobs: BlobWriter | None) -> Iterator[UnitOfWork]:
    """A session that commits at the end of the block, with blob writes undone when it does not."""
    work: UnitOfWork | None = None
    committing = False
    try:
        with store.session() as session:
            work = UnitOfWork(session, blobs)
            yield work
            work.check()
            session.flush()  # constraint errors surface here, before the outcome is in doubt
            committing = True
    except BaseException as exc:
        if work is not None and work.written:
            if committing and _connection_lost(exc):
                log.warning(
                    "connection lost while committing; keeping blobs %s (they may be named by rows)",
                    ", ".join(f"{ns}/{bid}" for ns, bid in work.written),
                )
            else:
                work._delete(work.written, "its transaction did not commit")
        raise
    assert work is not None
    work._delete(work.released, "released by a committed transaction")


def _connection_lost(exc: BaseException) -> bool:
    """The database connection broke (so a commit may or may not have happened)."""
    for candidate in (exc, exc.__cause__):
        if isinstance(candidate, DBAPIError) and candidate.connection_invalidated:
            return True
    return False
