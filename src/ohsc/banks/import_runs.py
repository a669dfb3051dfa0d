"""Imports of hash-list files into banks, each recorded as a run with its progress: a part of
:class:`~ohsc.banks.service.BankService` (which it is mixed into)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.banks.formats import get_format
from ohsc.banks.formats.jsonstream import JsonLimits, json_limits
from ohsc.banks.model import EntryInput, EntrySource, ImportReport, ImportRun, ReadNote, RowError
from ohsc.errors import InvalidInputError, NotFoundError, OhscError
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import BankRow, ImportRunRow
from ohsc.store.types import utcnow


def _to_run(run: ImportRunRow, bank_name: str) -> ImportRun:
    return ImportRun(
        id=run.id,
        bank=bank_name,
        format=run.format,
        source_name=run.source_name,
        sha256=run.sha256,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts=dict(run.counts or {}),
        errors=len(run.errors or []),
        bytes_total=run.bytes_total,
        bytes_read=run.bytes_read,
    )


def _teller(fh: BinaryIO) -> Callable[[], int | None]:
    """How far into ``fh`` its reader got (None when the stream cannot tell)."""

    def position() -> int | None:
        try:
            return fh.tell()
        except (OSError, ValueError):
            return None

    return position


class ImportRuns:
    """Import a hash list as a recorded run: at once (:meth:`import_file`, :meth:`import_stream`)
    or opened first and read later (:meth:`open_import`, :meth:`run_import`: the web's background
    imports); the runs and their progress (:meth:`import_runs`, :meth:`import_run`)."""

    store: Store
    settings: Settings
    actor: str

    if TYPE_CHECKING:  # provided by BankService

        def _get_row(self, s: Session, ref: str | int) -> BankRow: ...

        def _apply_stream(
            self,
            bank_id: int,
            items: Iterable[EntryInput | RowError | ReadNote],
            source: str,
            source_ref: str | None,
            run_id: int | None = None,
            report: ImportReport | None = None,
            position: Callable[[], int | None] | None = None,
        ) -> ImportReport: ...

    def import_file(
        self, bank_ref: str | int, path: Path, fmt: str, *, source: EntrySource | str = EntrySource.IMPORT
    ) -> ImportReport:
        """Import a hash-list file. Invalid rows are reported with line numbers; the rest load."""
        reader = get_format(fmt)
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        run_id = self.open_import(
            bank_ref,
            fmt=reader.name,
            source_name=path.name,
            sha256=digest.hexdigest(),
            size=path.stat().st_size,
        )
        with path.open("rb") as fh:
            return self.run_import(run_id, fh, source=source)

    def import_stream(
        self,
        bank_ref: str | int,
        fh: BinaryIO,
        *,
        fmt: str,
        source_name: str,
        sha256: str = "",
        source: EntrySource | str = EntrySource.IMPORT,
    ) -> ImportReport:
        """Import a hash list as source records of ``source``. The run is recorded
        (:meth:`import_runs`): ``running`` while it goes, ``finished``, or ``failed`` with what
        stopped it (batches committed before a failure stay, each with its audit event)."""
        run_id = self.open_import(bank_ref, fmt=fmt, source_name=source_name, sha256=sha256)
        return self.run_import(run_id, fh, source=source)

    def open_import(
        self, bank_ref: str | int, *, fmt: str, source_name: str, sha256: str = "", size: int | None = None
    ) -> int:
        """Record an import run, ``running``, and return its id; :meth:`run_import` then reads
        the file into it (the web app answers with the run's page and reads in the background).
        ``size``: the file's length in bytes, for the run's progress."""
        reader = get_format(fmt)
        with self.store.session() as s:
            bank_id = self._get_row(s, bank_ref).id
            run = ImportRunRow(
                bank_id=bank_id,
                format=reader.name,
                source_name=source_name,
                sha256=sha256,
                status="running",
                bytes_total=size,
                bytes_read=0,
            )
            s.add(run)
            s.flush()
            return run.id

    def run_import(
        self, run_id: int, fh: BinaryIO, *, source: EntrySource | str = EntrySource.IMPORT
    ) -> ImportReport:
        """Read the file of a run that :meth:`open_import` recorded; each batch commits with its
        audit event and the run's counts and bytes read so far."""
        with self.store.session() as s:
            run = s.get(ImportRunRow, run_id)
            if run is None or run.status != "running":
                raise InvalidInputError(f"import run {run_id} is not waiting to run")
            bank_id, fmt, source_name = run.bank_id, run.format, run.source_name
        reader = get_format(fmt)
        report = ImportReport()
        failure: str | None = None
        limits = JsonLimits(self.settings.import_max_depth, self.settings.import_max_string_bytes)
        try:
            with json_limits(limits):
                items = reader.read(fh)
                self._apply_stream(
                    bank_id,
                    items,
                    str(source),
                    source_name,
                    run_id=run_id,
                    report=report,
                    position=_teller(fh),
                )
        except OhscError as exc:
            failure = exc.message
            raise
        except BaseException as exc:  # interrupted (Ctrl-C, a dropped request): the run says so
            failure = type(exc).__name__
            raise
        finally:
            self._close_run(run_id, report, failure)
        return report

    def _close_run(self, run_id: int, report: ImportReport, failure: str | None) -> None:
        """Finish a run: counts of the committed batches, errors, ``finished`` or ``failed``."""
        with self.store.session() as s:
            run_row = s.get(ImportRunRow, run_id)
            if run_row is None:
                return
            run_row.finished_at = utcnow()
            run_row.status = "failed" if failure is not None else "finished"
            if failure is None and run_row.bytes_total is not None:
                run_row.bytes_read = run_row.bytes_total
            run_row.counts = report.counts() | {"failed": failure is not None}
            errors = [{"line": e.line, "message": e.message} for e in report.errors[:1000]]
            if failure is not None:
                errors.append({"line": None, "message": f"import stopped: {failure}"})
                audit.record(
                    s,
                    actor=self.actor,
                    action="bank.import.fail",
                    object_type="bank",
                    object_id=run_row.bank_id,
                    details={
                        "import_run": run_id,
                        "source_name": run_row.source_name,
                        "error": failure[:500],
                    },
                )
            run_row.errors = errors

    def import_runs(self, bank_ref: str | int | None = None, limit: int = 50) -> list[ImportRun]:
        """The latest imports (of one bank, or all), newest first."""
        with self.store.session() as s:
            query = select(ImportRunRow, BankRow.name).join(BankRow, BankRow.id == ImportRunRow.bank_id)
            if bank_ref is not None:
                query = query.where(ImportRunRow.bank_id == self._get_row(s, bank_ref).id)
            rows = s.execute(query.order_by(ImportRunRow.id.desc()).limit(limit)).all()
            return [_to_run(run, name) for run, name in rows]

    def import_run(self, run_id: int) -> ImportRun:
        """One import run (its progress while it goes)."""
        with self.store.session() as s:
            found = s.execute(
                select(ImportRunRow, BankRow.name)
                .join(BankRow, BankRow.id == ImportRunRow.bank_id)
                .where(ImportRunRow.id == run_id)
            ).first()
            if found is None:
                raise NotFoundError(f"no import run {run_id}")
            return _to_run(*found)
