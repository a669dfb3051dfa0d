"""A rich progress bar for scans: count, rate, ETA; matches and errors as they happen."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ohsc.cli.app import err


class ScanProgress:
    def __init__(self, description: str, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} files/s"),
            TextColumn("[red]{task.fields[matched]} matched[/] {task.fields[errors]} errors"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            disable=not enabled,
            transient=False,
            refresh_per_second=4,
        )
        self._task: TaskID = self._progress.add_task(description, total=None, rate="-", matched=0, errors=0)
        self._lock = threading.Lock()
        self._total: int | None = None
        self._extra = 0
        self._matched = 0
        self._errors = 0

    def __enter__(self) -> ScanProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def set_total(self, n: int) -> None:
        with self._lock:
            self._total = n
            self._progress.update(self._task, total=n + self._extra)

    def add_total(self, n: int) -> None:
        with self._lock:
            self._extra += n
            if self._total is not None:
                self._progress.update(self._task, total=self._total + self._extra)

    def advance(self, record: dict[str, Any]) -> None:
        self._matched += bool(record.get("matched"))
        self._errors += bool(record.get("error"))
        task = self._progress.tasks[0]
        speed = task.speed
        self._progress.update(
            self._task,
            advance=1,
            rate=f"{speed:.0f}" if speed else "-",
            matched=self._matched,
            errors=self._errors,
        )
