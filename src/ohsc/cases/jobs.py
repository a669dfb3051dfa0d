"""Ingests started over HTTP (the API and the web form): a server-side source, only under
``OHSC_CASE_INGEST_ROOT``, ingested in the background while its source row says how far it got.
A part of :class:`~ohsc.cases.service.CaseService` (which it is mixed into).

Progress is written to the source row (files found, files hashed) at most once a second, by
every ingest (the CLI's too), so the web shows an ingest however it was started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ohsc import audit
from ohsc.cases.models import CaseRow, CaseSourceRow
from ohsc.errors import (
    CaseIngestBusyError,
    CaseSourceRefusedError,
    InvalidInputError,
    NotFoundError,
    OhscError,
)
from ohsc.settings import Settings
from ohsc.store.db import Store

if TYPE_CHECKING:
    from ohsc.scanning.runner import ProgressSink

#: how often an ingest writes its progress to its source row (seconds)
PROGRESS_SECONDS = 1.0

_lock = threading.Lock()
#: sources an ingest of this process is working on (a second one of the same source is refused)
_active: set[int] = set()


def claim(source_id: int) -> None:
    with _lock:
        if source_id in _active:
            raise CaseIngestBusyError(f"source {source_id} is being ingested already")
        _active.add(source_id)


def release(source_id: int) -> None:
    with _lock:
        _active.discard(source_id)


def busy(source_id: int) -> bool:
    with _lock:
        return source_id in _active


class SourceProgress:
    """A progress sink that keeps the source row's ``total``/``done`` up to date (and passes
    everything on to ``inner``, the command line's bar)."""

    def __init__(self, store: Store, source_id: int, inner: ProgressSink | None) -> None:
        self.store = store
        self.source_id = source_id
        self.inner = inner
        self.total = 0
        self.done = 0
        self.last = 0.0
        #: the row is written by whoever applies the batches (:meth:`write` from the ingest's
        #: writer thread), not at every file: a write waited for the writer's transaction
        self.deferred = False

    # The totals come from the scan's counting thread: they are kept here and reach the row with
    # the next write from the ingest's own thread (a store bound to one connection cannot take
    # statements from two threads at once).

    def add_total(self, n: int) -> None:
        self.total += n
        if self.inner is not None:
            self.inner.add_total(n)

    def set_total(self, n: int) -> None:
        self.total = n
        if self.inner is not None:
            self.inner.set_total(n)

    def advance(self, record: dict[str, Any]) -> None:
        self.done += 1
        if self.inner is not None:
            self.inner.advance(record)
        if not self.deferred:
            self.write()

    def write(self, *, force: bool = False) -> None:
        """The row's total and done, at most every :data:`PROGRESS_SECONDS` unless forced."""
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        with self.store.session() as s:
            row = s.get(CaseSourceRow, self.source_id)
            if row is not None:
                row.total, row.done = max(self.total, self.done), self.done

    def finish(self) -> None:
        self.write(force=True)


def source_dict(row: CaseSourceRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "case_id": row.case_id,
        "kind": row.kind,
        "path": row.path,
        "status": row.status,
        "files": row.files,
        "errors": row.errors,
        "total": row.total,
        "done": row.done,
        "failure": row.failure,
        "running": busy(row.id),
        "added_by": row.added_by,
        "added_at": row.added_at.isoformat() if row.added_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


class IngestJobs:
    store: Store
    settings: Settings
    actor: str
    # CaseService's (declared for the type checker only: nothing here to call by mistake)
    _row: Callable[[Any, str | int], CaseRow]
    ingest: Callable[..., Any]

    def server_source(self, path: str) -> Path:
        """A server-side source named over HTTP: a path inside ``OHSC_CASE_INGEST_ROOT``
        (relative to it, or absolute), after following links; anything else is refused."""
        root = self.settings.case_ingest_root
        if root is None:
            raise CaseSourceRefusedError(
                "server-side ingest is off: set OHSC_CASE_INGEST_ROOT to the folder seized "
                "collections are copied to, or run `ohsc case ingest` on the server"
            )
        text = path.strip()
        if not text or "\x00" in text or len(text) > 4096:
            raise InvalidInputError("name a file or folder under the ingest root")
        base = root.expanduser().resolve()
        target = (base / text).resolve()
        if not target.is_relative_to(base):
            raise CaseSourceRefusedError("the source must lie under the ingest root (OHSC_CASE_INGEST_ROOT)")
        if not target.exists():
            raise InvalidInputError(f"{text}: no such file or folder under the ingest root")
        return target

    def start_ingest(self, ref: str | int, path: str) -> dict[str, Any]:
        """Check and record an ingest of a server-side source (``queued``) for a background
        task to run with :meth:`CaseService.ingest`; audited as ``case.ingest_start``."""
        from ohsc.cases.ingest import source_kind

        root = self.server_source(path)
        kind = source_kind(root)
        with self.store.session() as s:
            case = self._row(s, ref)
            src = s.scalar(
                select(CaseSourceRow).where(CaseSourceRow.case_id == case.id, CaseSourceRow.path == str(root))
            )
            if src is not None and busy(src.id):
                raise CaseIngestBusyError(f"{path} is being ingested into case {case.name!r} already")
            if src is None:
                src = CaseSourceRow(case_id=case.id, kind=kind, path=str(root), added_by=self.actor)
                s.add(src)
                s.flush()
            src.status, src.failure, src.done = "queued", None, 0
            audit.record(
                s,
                actor=self.actor,
                action="case.ingest_start",
                object_type="case",
                object_id=case.id,
                details={"source_id": src.id, "kind": kind},
            )
            return {**source_dict(src), "case": case.name, "resolved": root}

    def source(self, ref: str | int, source_id: int) -> dict[str, Any]:
        """One source of a case with its progress."""
        with self.store.session() as s:
            case = self._row(s, ref)
            row = s.get(CaseSourceRow, source_id)
            if row is None or row.case_id != case.id:
                raise NotFoundError(f"case {case.name!r} has no source {source_id}")
            return source_dict(row)

    def run_started(self, ref: str | int, started: dict[str, Any], *, matcher: Any = None) -> None:
        """What the background task runs: the ingest, its failure recorded on the source (by
        the error's type and message: no content) rather than raised into the void."""
        try:
            self.ingest(ref, Path(started["resolved"]), matcher=matcher)
        except Exception as exc:
            text = exc.message if isinstance(exc, OhscError) else type(exc).__name__
            with self.store.session() as s:
                row = s.get(CaseSourceRow, started["id"])
                if row is not None:
                    row.status, row.failure = "failed", text[:500]
            raise
