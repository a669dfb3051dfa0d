"""Stored submissions: the handle destinations write their steps through, and the lease.

Every step a destination saves is its own committed transaction. A submission is worked on by one
process at a time: the *lease* (``lease_owner``/``lease_until``) is taken with a conditional
``UPDATE`` and re-checked by every save, so a process that lost it (it stalled past the lease,
another one took over) stops at its next step instead of racing the new owner. A lease left by a
process that died on this machine is taken over at once; one held elsewhere waits for expiry, or
``--take-over``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from ohsc import audit
from ohsc.errors import SubmissionBusyError
from ohsc.reports.destinations.base import FileProgress
from ohsc.reports.snapshot import FileSnapshot, ReportSnapshot
from ohsc.reports.tables import (
    F_PENDING,
    S_FINISHED,
    S_OPEN,
    S_RETRACTED,
    SubmissionFileRow,
    SubmissionRow,
)
from ohsc.store.db import Store
from ohsc.store.types import utcnow

LEASE = timedelta(minutes=10)
_HOST = socket.gethostname()


def new_owner() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str) -> bool:
    """True when ``owner`` names a process on this machine that no longer runs."""
    try:
        host, pid_text, _ = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != _HOST:
        return False
    if pid == os.getpid():
        return True  # this process, an earlier unit of work that did not release it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class SubmissionInfo:
    id: int
    destination: str
    state: str
    remote_id: str | None
    attempts: int
    abandoned: tuple[dict[str, Any], ...]
    last_error: str | None
    last_code: int | None
    receipt: dict[str, Any]
    opened_at: datetime | None
    finished_at: datetime | None
    retracted_at: datetime | None
    files: tuple[FileProgress, ...]

    @classmethod
    def from_row(cls, row: SubmissionRow) -> SubmissionInfo:
        return cls(
            id=row.id,
            destination=row.destination,
            state=row.state,
            remote_id=row.remote_id,
            attempts=row.attempts,
            abandoned=tuple(row.abandoned or ()),
            last_error=row.last_error,
            last_code=row.last_code,
            receipt=dict(row.receipt or {}),
            opened_at=row.opened_at,
            finished_at=row.finished_at,
            retracted_at=row.retracted_at,
            files=tuple(
                FileProgress(f.report_file_id, f.state, f.remote_file_id, f.remote_hash) for f in row.files
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "state": self.state,
            "remote_id": self.remote_id,
            "attempts": self.attempts,
            "abandoned": list(self.abandoned),
            "last_error": self.last_error,
            "last_code": self.last_code,
            "receipt": self.receipt,
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "retracted_at": self.retracted_at.isoformat() if self.retracted_at else None,
            "files": [
                {"report_file_id": f.report_file_id, "state": f.state, "remote_file_id": f.remote_file_id}
                for f in self.files
            ],
        }


class Lease:
    """Exclusive right to work on one submission."""

    def __init__(self, store: Store, submission_id: int, owner: str, actor: str) -> None:
        self.store = store
        self.submission_id = submission_id
        self.owner = owner
        self.actor = actor

    def acquire(self, *, take_over: bool = False) -> None:
        now = utcnow()
        with self.store.session() as s:
            taken = cast(
                CursorResult[Any],
                s.execute(
                    update(SubmissionRow)
                    .where(
                        SubmissionRow.id == self.submission_id,
                        (SubmissionRow.lease_owner.is_(None))
                        | (SubmissionRow.lease_until < now)
                        | (SubmissionRow.lease_owner == self.owner),
                    )
                    .values(lease_owner=self.owner, lease_until=now + LEASE)
                ),
            ).rowcount
            if taken:
                return
            row = s.get(SubmissionRow, self.submission_id)
            holder = row.lease_owner if row is not None else None
            if holder is None or not (take_over or _owner_is_dead(holder)):
                until = row.lease_until if row is not None else None
                raise SubmissionBusyError(
                    f"another process ({holder}) is submitting this report until {until:%H:%M:%S} UTC; "
                    "wait, or take over with --take-over if it is gone",
                    detail={"holder": holder},
                )
            stolen = cast(
                CursorResult[Any],
                s.execute(
                    update(SubmissionRow)
                    .where(SubmissionRow.id == self.submission_id, SubmissionRow.lease_owner == holder)
                    .values(lease_owner=self.owner, lease_until=now + LEASE)
                ),
            ).rowcount
            if not stolen:
                raise SubmissionBusyError("another process took over this submission just now")
            audit.record(
                s,
                actor=self.actor,
                action="report.lease_taken_over",
                object_type="report_submission",
                object_id=self.submission_id,
                details={"previous_holder": holder, "forced": take_over},
            )

    def release(self) -> None:
        with self.store.session() as s:
            s.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == self.submission_id, SubmissionRow.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )


class DbSubmissionHandle:
    """:class:`ohsc.reports.destinations.base.SubmissionHandle` over the store."""

    def __init__(
        self,
        store: Store,
        report: ReportSnapshot,
        submission_id: int,
        lease: Lease,
        *,
        actor: str,
        content: Callable[[str, FileSnapshot], bytes],
        keep: Callable[[str, str, bytes], None],
        progress: Callable[[str], None],
    ) -> None:
        self.store = store
        self.report = report
        self.submission_id = submission_id
        self.lease = lease
        self.actor = actor
        self._content = content
        self._keep = keep
        self._progress = progress
        self._load()

    def _load(self) -> None:
        with self.store.session() as s:
            row = s.get(SubmissionRow, self.submission_id)
            assert row is not None
            self._destination = row.destination
            self._state = row.state
            self._remote_id = row.remote_id
            self._receipt = dict(row.receipt or {})

    @property
    def destination(self) -> str:
        return self._destination

    @property
    def state(self) -> str:
        return self._state

    @property
    def remote_id(self) -> str | None:
        return self._remote_id

    @property
    def receipt(self) -> dict[str, Any]:
        return dict(self._receipt)

    def files(self) -> dict[int, FileProgress]:
        with self.store.session() as s:
            rows = s.scalars(
                select(SubmissionFileRow).where(SubmissionFileRow.submission_id == self.submission_id)
            )
            return {
                r.report_file_id: FileProgress(r.report_file_id, r.state, r.remote_file_id, r.remote_hash)
                for r in rows
            }

    def _row(self, s: Any) -> SubmissionRow:
        """The row, if this process still holds the lease (refreshing it)."""
        now = utcnow()
        held = cast(
            CursorResult[Any],
            s.execute(
                update(SubmissionRow)
                .where(SubmissionRow.id == self.submission_id, SubmissionRow.lease_owner == self.lease.owner)
                .values(lease_until=now + LEASE)
            ),
        ).rowcount
        if not held:
            raise SubmissionBusyError(
                f"lost the submission lease of {self.report.ref} to another process: stopping here"
            )
        row = s.get(SubmissionRow, self.submission_id)
        assert row is not None
        return row  # type: ignore[no-any-return]

    def save(
        self,
        *,
        state: str | None = None,
        remote_id: str | None = None,
        receipt: dict[str, Any] | None = None,
        new_attempt: bool = False,
        abandon_remote: str | None = None,
    ) -> None:
        now = utcnow()
        with self.store.session() as s:
            row = self._row(s)
            if abandon_remote is not None and row.remote_id:
                row.abandoned = [
                    *(row.abandoned or []),
                    {"remote_id": row.remote_id, "reason": abandon_remote, "at": now.isoformat()},
                ]
                row.remote_id = None
                row.opened_at = None
            if new_attempt:
                row.attempts += 1
            if remote_id is not None:
                row.remote_id = remote_id
            if receipt is not None:
                row.receipt = {**(row.receipt or {}), **receipt}
            if state is not None and state != row.state:
                row.state = state
                if state == S_OPEN:
                    row.opened_at = now
                elif state == S_FINISHED:
                    row.finished_at = now
                    row.last_error = None
                    row.last_code = None
                elif state == S_RETRACTED:
                    row.retracted_at = now
            row.updated_at = now
            self._state, self._remote_id, self._receipt = row.state, row.remote_id, dict(row.receipt or {})

    def save_file(
        self,
        report_file_id: int,
        *,
        state: str,
        remote_file_id: str | None = None,
        remote_hash: str | None = None,
    ) -> None:
        with self.store.session() as s:
            self._row(s)
            f = s.scalar(
                select(SubmissionFileRow).where(
                    SubmissionFileRow.submission_id == self.submission_id,
                    SubmissionFileRow.report_file_id == report_file_id,
                )
            )
            assert f is not None
            f.state = state
            if remote_file_id is not None:
                f.remote_file_id = remote_file_id
            if remote_hash is not None:
                f.remote_hash = remote_hash
            f.updated_at = utcnow()

    def reset_files(self) -> None:
        with self.store.session() as s:
            self._row(s)
            s.execute(
                update(SubmissionFileRow)
                .where(SubmissionFileRow.submission_id == self.submission_id)
                .values(state=F_PENDING, remote_file_id=None, remote_hash=None, updated_at=utcnow())
            )

    def content(self, f: FileSnapshot) -> bytes:
        return self._content(self._destination, f)

    def keep_document(self, name: str, data: bytes) -> None:
        self._keep(self._destination, name, data)

    def audit(self, action: str, details: dict[str, Any]) -> None:
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor,
                action=f"report.{action}",
                object_type="report",
                object_id=self.report.id,
                details={"destination": self._destination, "submission_id": self.submission_id, **details},
            )

    def progress(self, message: str) -> None:
        self._progress(f"{self._destination}: {message}")

    def record_error(self, message: str, code: int | None) -> None:
        with self.store.session() as s:
            row = s.get(SubmissionRow, self.submission_id)
            if row is not None:
                row.last_error = message
                row.last_code = code
                row.updated_at = utcnow()
