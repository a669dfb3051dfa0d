"""Configured exchanges: add, list, remove, and sync (by hand or on the server's schedule).

A sync fetches pages from the exchange's checkpoint; a page's records, its new checkpoint and an
``exchange.page`` audit event commit in the same transaction (a few pages share one), so the
checkpoint never runs ahead of what was applied. A page that fails its check applies nothing and
the sync stops there (the pages before it commit) with
``last_error`` set (and an ``exchange.sync.failed`` event); the next sync retries from the same
checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.banks.model import ImportReport
from ohsc.banks.service import BankService
from ohsc.errors import (
    ExchangeBusyError,
    ExchangeError,
    ExchangeExistsError,
    ExchangeNotFoundError,
    InvalidInputError,
    OhscError,
)
from ohsc.exchanges.apply import apply_records, check_records
from ohsc.exchanges.kinds import get_kind
from ohsc.exchanges.model import Exchange, FetchedPage
from ohsc.exchanges.prefetch import prefetched
from ohsc.exchanges.sealing import content_key, seal_secrets, unseal_secrets
from ohsc.exchanges.staging import bank_is_empty, forget_staged, has_staged, move_staged, stage
from ohsc.exchanges.sync_group import GROUP_RECORDS, Group
from ohsc.exchanges.sync_group import SyncReport as SyncReport  # the CLI prints it
from ohsc.exchanges.tables import ExchangeRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import BankRow
from ohsc.store.types import utcnow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    """A configured exchange as people see it (never its credentials)."""

    id: int
    name: str
    kind: str
    bank: str
    options: dict[str, Any]
    secret_names: tuple[str, ...]
    enabled: bool
    interval_seconds: int
    checkpoint: dict[str, Any] | None
    last_sync_at: datetime | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "bank": self.bank,
            "options": self.options,
            "secrets": list(self.secret_names),
            "enabled": self.enabled,
            "interval_seconds": self.interval_seconds,
            "checkpoint": self.checkpoint,
            "last_sync_at": self.last_sync_at.isoformat() if self.last_sync_at else None,
            "last_error": self.last_error,
        }


#: A sync stages its pages (see :mod:`ohsc.exchanges.staging`) when the bank is empty and the
#: first page has at least this many records (a long list is coming), or when staged rows of an
#: interrupted sync wait.
STAGE_RECORDS = 1000


@dataclass(slots=True)
class _Target:
    """What a sync applies to: the exchange, its bank, whether its records replace their
    signals (see :attr:`Exchange.records_change_signals`), and whether its pages are staged
    (``staging``; ``empty``: the bank held no entry when the sync began)."""

    exchange_id: int
    bank_id: int
    name: str
    replace: bool
    staging: bool = False
    empty: bool = False

    def decide(self, first_page: int) -> None:
        """Stage this sync's pages if the bank is empty and the first page is long."""
        self.staging = self.staging or (self.empty and first_page >= STAGE_RECORDS)


class ExchangeService:
    """Exchanges this node fetches from. Every change and every applied page is an audit event."""

    def __init__(self, store: Store, settings: Settings, actor: str = "cli") -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.banks = BankService(store, settings, actor=actor)

    # --- configuration -----------------------------------------------------------------------

    def add(
        self,
        name: str,
        kind: str,
        bank: str,
        options: Mapping[str, str],
        secrets: Mapping[str, str],
        *,
        interval_seconds: int = 300,
    ) -> ExchangeInfo:
        if not _NAME.match(name):
            raise InvalidInputError("an exchange name is 1 to 100 letters, digits, '.', '_' or '-'")
        cls = get_kind(kind)
        given = {k: v for k, v in {**options, **secrets}.items() if v}
        missing = [o for o in cls.required_options if o not in given]
        if missing:
            raise InvalidInputError(f"a {kind} exchange needs: {', '.join(missing)}")
        if interval_seconds < 0:
            raise InvalidInputError("the interval must be 0 (by hand only) or more seconds")
        plain = {k: v for k, v in given.items() if k not in cls.secret_options}
        hidden = {k: v for k, v in given.items() if k in cls.secret_options}
        cls(
            name, plain, hidden, settings=self.settings
        )  # the kind checks its options (a malformed key or URL fails here)
        with self.store.session() as s:
            if s.scalar(select(ExchangeRow.id).where(ExchangeRow.name == name)) is not None:
                raise ExchangeExistsError(f"exchange {name!r} already exists")
            bank_row = self.banks._get_row(s, bank)
            row = ExchangeRow(
                name=name,
                kind=kind,
                bank_id=bank_row.id,
                options=plain,
                secrets_sealed=seal_secrets(content_key(self.settings), hidden, name=name),
                interval_seconds=interval_seconds,
            )
            s.add(row)
            s.flush()
            audit.record(
                s,
                actor=self.actor,
                action="exchange.add",
                object_type="exchange",
                object_id=row.id,
                details={"name": name, "kind": kind, "bank": bank_row.name, "secrets": sorted(hidden)},
            )
            return self._info(row, bank_row.name)

    def _info(self, row: ExchangeRow, bank: str) -> ExchangeInfo:
        return ExchangeInfo(
            id=row.id,
            name=row.name,
            kind=row.kind,
            bank=bank,
            options=dict(row.options or {}),
            secret_names=tuple(sorted(self._secret_names(row))),
            enabled=row.enabled,
            interval_seconds=row.interval_seconds,
            checkpoint=row.checkpoint,
            last_sync_at=row.last_sync_at,
            last_error=row.last_error,
        )

    def _secret_names(self, row: ExchangeRow) -> list[str]:
        try:
            return list(get_kind(row.kind).secret_options) if row.secrets_sealed else []
        except OhscError:
            return []

    def _row(self, s: Session, name: str) -> ExchangeRow:
        row = s.scalar(select(ExchangeRow).where(ExchangeRow.name == name))
        if row is None:
            raise ExchangeNotFoundError(f"no exchange named {name!r}")
        return row

    def get(self, name: str) -> ExchangeInfo:
        with self.store.session() as s:
            row = self._row(s, name)
            return self._info(row, s.get(BankRow, row.bank_id).name)  # type: ignore[union-attr]

    def list_exchanges(self) -> list[ExchangeInfo]:
        with self.store.session() as s:
            rows = s.execute(select(ExchangeRow, BankRow.name).join(BankRow).order_by(ExchangeRow.name))
            return [self._info(row, bank) for row, bank in rows]

    def remove(self, name: str) -> None:
        """Forget an exchange. What it brought stays in the bank (withdraw it with ``ohsc bank``)."""
        with self.store.session() as s:
            row = self._row(s, name)
            audit.record(
                s,
                actor=self.actor,
                action="exchange.remove",
                object_type="exchange",
                object_id=row.id,
                details={"name": name, "kind": row.kind},
            )
            s.delete(row)

    def reset(self, name: str) -> None:
        """Fetch everything again at the next sync (the checkpoint goes back to the start)."""
        with self.store.session() as s:
            row = self._row(s, name)
            row.checkpoint = None
            row.updated_at = utcnow()
            forget_staged(s, row.id)  # staged under the old checkpoint: fetched again
            audit.record(
                s,
                actor=self.actor,
                action="exchange.reset",
                object_type="exchange",
                object_id=row.id,
                details={"name": name},
            )

    def client(self, name: str) -> Exchange:
        """The exchange's client, with its credentials unsealed."""
        with self.store.session() as s:
            row = self._row(s, name)
            return self._client(row)

    def _client(self, row: ExchangeRow) -> Exchange:
        secrets = unseal_secrets(content_key(self.settings), row.secrets_sealed, name=row.name)
        return get_kind(row.kind)(row.name, dict(row.options or {}), secrets, settings=self.settings)

    # --- sync --------------------------------------------------------------------------------

    def sync(self, name: str, *, max_pages: int | None = None) -> SyncReport:
        """Fetch and apply every page since the checkpoint (or ``max_pages`` of them)."""
        with self.store.session() as s:
            row = self._row(s, name)
            exchange_id, bank_id, checkpoint = row.id, row.bank_id, row.checkpoint
            client = self._client(row)
            staged, empty = has_staged(s, exchange_id), bank_is_empty(s, bank_id)
        report = SyncReport(name)
        pages = prefetched(client.fetch(checkpoint))
        target = _Target(exchange_id, bank_id, name, client.records_change_signals, staged, empty)
        try:
            with self.store.held_open():
                try:
                    self._apply_pages(target, pages, checkpoint, report, max_pages)
                except ExchangeError:
                    self._move_staged(target, report)  # what the pages before the failure staged
                    raise
                self._move_staged(target, report)
        except ExchangeError as exc:
            report.error = exc.message
            self._failed(exchange_id, name, exc, report)
            raise
        finally:
            pages.close()  # the reader thread stops before the connection closes
            client.close()
        with self.store.session() as s:
            row = self._row(s, name)
            row.last_sync_at = utcnow()
            row.last_error = None
        return report

    def _apply_pages(
        self,
        target: _Target,
        pages: Iterator[FetchedPage],
        expected: dict[str, Any] | None,
        report: SyncReport,
        max_pages: int | None,
    ) -> None:
        """Apply pages in transactions of a few pages (up to ``GROUP_RECORDS`` records or
        ``GROUP_SECONDS``): each commits its pages' records with the checkpoint after the last of
        them and one audit event per page. Committing every page of a long list rewrote the
        bank's indexes into SQLite's log once per page; a few pages per transaction write each
        index page once for several. A page that fails to fetch or verify ends the sync after
        the pages before it commit."""
        group = Group(self.store)
        analyze_at = GROUP_RECORDS  # statistics refreshed as the bank grows: 20k, 40k, 80k ...
        try:
            for page in pages:  # a page that does not fetch or verify raises here
                if not report.pages and not group.parts:
                    target.decide(len(page.records))
                part = self._apply_page(group.session(), target, page, expected)
                group.parts.append(part)
                expected = page.checkpoint
                done = max_pages is not None and report.pages + len(group.parts) >= max_pages
                if done or group.full():
                    group.commit(report)
                    if report.changes.added >= analyze_at:
                        self.store.analyze("bank_entries", "entry_sources")
                        analyze_at *= 2
                if done:
                    break
        except (ExchangeError, ExchangeBusyError):
            group.commit(report)  # the pages applied before it are whole and their checkpoint with them
            raise
        except BaseException:
            group.rollback()
            raise
        group.commit(report)

    def _apply_page(
        self, s: Session, target: _Target, page: FetchedPage, expected: dict[str, Any] | None
    ) -> SyncReport:
        """Apply one page in ``s`` (with its checkpoint and audit event); what it did."""
        name, exchange_id = target.name, target.exchange_id
        checked = check_records(page.records)
        row = s.get(ExchangeRow, exchange_id, with_for_update=True)  # one sync applies at a time
        if row is None or row.bank_id != target.bank_id:
            raise ExchangeError(f"exchange {name!r} was removed or changed during the sync")
        if row.checkpoint != expected:
            raise ExchangeBusyError(f"exchange {name!r} is being synced by another process")
        if target.staging:  # applied when the sync ends (see _move_staged)
            changes = ImportReport()
            stage(s, exchange_id, checked.records)
            staged = {"staged": len(checked.records)}
        else:
            changes = apply_records(
                s, self.banks, target.bank_id, name, checked.records, replace_signals=target.replace
            )
            staged = {}
        row.checkpoint = page.checkpoint
        row.updated_at = utcnow()
        notes = [*page.notes, *checked.notes]
        audit.record(
            s,
            actor=self.actor,
            action="exchange.page",
            object_type="exchange",
            object_id=exchange_id,
            details={
                "name": name,
                "records": len(page.records),
                "skipped": len(page.records) - len(checked.records),
                "notes": notes[:20],
                **{k: v for k, v in changes.counts().items() if v},
                **staged,
                **page.facts,
            },
        )
        skipped = len(page.records) - len(checked.records)
        return SyncReport(name, 1, len(page.records), skipped, changes, notes)

    def _move_staged(self, target: _Target, report: SyncReport) -> None:
        """Move what this exchange staged into its bank (see :func:`move_staged`)."""
        if target.staging:
            where = (target.exchange_id, target.bank_id, target.name)
            report.changes.merge(
                move_staged(self.store, self.banks, self.actor, *where, replace=target.replace)
            )

    def _failed(self, exchange_id: int, name: str, exc: ExchangeError, report: SyncReport) -> None:
        with self.store.session() as s:
            row = s.get(ExchangeRow, exchange_id)
            if row is not None:
                row.last_error = exc.message
                row.last_sync_at = utcnow()
            audit.record(
                s,
                actor=self.actor,
                action="exchange.sync.failed",
                object_type="exchange",
                object_id=exchange_id,
                details={"name": name, "code": exc.code, "error": exc.message, "pages_applied": report.pages},
            )

    def _note_failure(self, name: str, exc: OhscError) -> None:
        with self.store.session() as s:
            row = self._row(s, name)
            row.last_error = exc.message
            row.last_sync_at = utcnow()  # retried at its next interval, not at every check

    def due(self, now: datetime | None = None) -> list[str]:
        """Names of enabled exchanges whose interval has passed since their last sync."""
        now = now or utcnow()
        with self.store.session() as s:
            rows = list(s.scalars(select(ExchangeRow).where(ExchangeRow.enabled.is_(True))))
            return [
                r.name
                for r in rows
                if r.interval_seconds > 0
                and (r.last_sync_at is None or now - r.last_sync_at >= timedelta(seconds=r.interval_seconds))
            ]

    def sync_due(self) -> list[SyncReport]:
        """Sync every exchange that is due (the server's scheduled job); one failing exchange does
        not stop the others (its error is kept in ``last_error`` and the audit log)."""
        reports = []
        for name in self.due():
            try:
                reports.append(self.sync(name))
            except (ExchangeError, ExchangeBusyError) as exc:
                reports.append(SyncReport(name, error=exc.message))
            except OhscError as exc:  # e.g. credentials sealed with another content key
                self._note_failure(name, exc)
                reports.append(SyncReport(name, error=exc.message))
        return reports

    # --- feedback ----------------------------------------------------------------------------

    def push_feedback(self, name: str) -> int:
        """Send reviewer verdicts on this exchange's entries back to it; the number sent (0 for
        an exchange that takes no feedback, whose cursor still advances)."""
        from ohsc.exchanges.feedback import pending_feedback  # review and content tables

        sent = 0
        while True:
            with self.store.session() as s:
                row = self._row(s, name)
                exchange_id, before = row.id, row.feedback_cursor
                items, cursor = pending_feedback(s, row, self.settings)
                client = self._client(row)
            if cursor == before:
                return sent
            try:
                n = client.send_feedback(items) if client.supports_feedback and items else 0
            finally:
                client.close()
            with self.store.session() as s:
                row = self._row(s, name)
                row.feedback_cursor = cursor
                if n:
                    audit.record(
                        s,
                        actor=self.actor,
                        action="exchange.feedback",
                        object_type="exchange",
                        object_id=exchange_id,
                        details={
                            "name": name,
                            "sent": n,
                            "confirmed": sum(1 for f in items if f.verdict == "confirmed"),
                            "disputed": sum(1 for f in items if f.verdict == "disputed"),
                        },
                    )
            sent += n
