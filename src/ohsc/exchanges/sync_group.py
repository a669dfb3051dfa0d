"""What a sync did, and the open transaction of a sync (a few pages share one)."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ohsc.banks.model import ImportReport
from ohsc.store.db import Store


@dataclass(slots=True)
class SyncReport:
    """What one sync did."""

    exchange: str
    pages: int = 0
    records: int = 0
    skipped: int = 0
    changes: ImportReport = field(default_factory=ImportReport)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "pages": self.pages,
            "records": self.records,
            "skipped": self.skipped,
            **self.changes.counts(),
            "notes": self.notes[:100],
            "error": self.error,
        }


#: A sync commits after this many records (or ``GROUP_SECONDS``), whole pages at a time.
GROUP_RECORDS = 20_000
GROUP_SECONDS = 2.0


class Group:
    """The open transaction of a sync and the pages applied in it (counted once it commits)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.parts: list[SyncReport] = []
        self._stack: ExitStack | None = None
        self._session: Session | None = None
        self._started = 0.0

    def session(self) -> Session:
        if self._session is None:
            self._stack = ExitStack()
            self._session = self._stack.enter_context(self.store.session())
            self._started = time.monotonic()
        return self._session

    def full(self) -> bool:
        records = sum(p.records for p in self.parts)
        return records >= GROUP_RECORDS or time.monotonic() - self._started >= GROUP_SECONDS

    def commit(self, report: SyncReport) -> None:
        stack, self._stack, self._session = self._stack, None, None
        if stack is not None:
            stack.close()  # the session's block ends without an exception: it commits
        for part in self.parts:
            report.pages += part.pages
            report.records += part.records
            report.skipped += part.skipped
            report.changes.merge(part.changes)
            report.notes.extend(part.notes)
        self.parts = []

    def rollback(self) -> None:
        stack, self._stack, self._session = self._stack, None, None
        self.parts = []
        if stack is not None:
            stack.__exit__(*sys.exc_info())  # the session rolls back
