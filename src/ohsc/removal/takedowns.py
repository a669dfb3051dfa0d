"""Takedowns: a media URL whose content matched a known-material bank, and its way to removal.

A match found by the crawler is preserved as evidence (encrypted, :mod:`ohsc.evidence`, one
unit of work with its audit event) and becomes a takedown. With
``OHSC_REMOVAL_REQUIRE_CONFIRMATION`` off (the default, Project Arachnid's model for material
already classified) it is confirmed at once; otherwise it waits for ``ohsc takedown confirm``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.actor import ROLE_SYSTEM, LocalActor
from ohsc.errors import InvalidInputError, StateError, TakedownNotFoundError
from ohsc.evidence.service import NAMESPACE, EvidenceService
from ohsc.matching.model import Match
from ohsc.media.blobs import BlobStore
from ohsc.removal.frontier import host_of, url_key
from ohsc.removal.models import TakedownNoticeRow, TakedownRow
from ohsc.settings import Settings
from ohsc.signals.files import FileSignals
from ohsc.store.db import Store
from ohsc.store.types import utcnow
from ohsc.store.unit import unit_of_work

STATUSES = ("awaiting_confirmation", "open", "removed", "dismissed")
#: keys per look-up statement
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Matched:
    """Media the crawler found matching a bank (:meth:`TakedownService.record_many`)."""

    url: str
    page_url: str
    crawl_url_id: int | None
    signals: FileSignals
    match: Match
    data: bytes


class _NothingNew(Exception):  # noqa: N818 - a private signal to roll back, never raised out
    """Every URL of a group was recorded by another writer meanwhile: roll the group back."""


def _source_key(key: str, data: bytes) -> str:
    """The evidence's key: the URL's and a prefix of the content's SHA-256 (a URL preserved
    again with other content is another item)."""
    return f"removal:{key}:{hashlib.sha256(data).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    recipient: str
    role: str
    language: str
    channel: str
    status: str
    error: str | None
    sent_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "recipient": self.recipient,
            "role": self.role,
            "language": self.language,
            "channel": self.channel,
            "status": self.status,
            "error": self.error,
            "sent_at": self.sent_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Takedown:
    id: int
    url: str
    page_url: str
    host: str
    status: str
    md5: str | None
    sha1: str | None
    pdq: str | None
    bank: str
    entry_id: int | None
    category: str | None
    evidence_id: int | None
    first_seen_at: datetime
    confirmed_at: datetime | None
    address: str | None
    network: str | None
    country: str | None
    contact: str | None
    notices_sent: int
    first_notice_at: datetime | None
    last_notice_at: datetime | None
    escalated: bool
    next_check_at: datetime | None
    last_checked_at: datetime | None
    checks: int
    removed_at: datetime | None
    removal_seconds: float | None
    removed_reason: str | None
    notices: tuple[Notice, ...] = ()

    @classmethod
    def of(cls, r: TakedownRow, notices: tuple[Notice, ...] = ()) -> Takedown:
        return cls(
            id=r.id,
            url=r.url,
            page_url=r.page_url,
            host=r.host,
            status=r.status,
            md5=r.md5,
            sha1=r.sha1,
            pdq=r.pdq,
            bank=r.bank,
            entry_id=r.entry_id,
            category=r.category,
            evidence_id=r.evidence_id,
            first_seen_at=r.first_seen_at,
            confirmed_at=r.confirmed_at,
            address=r.address,
            network=r.network,
            country=r.country,
            contact=r.contact,
            notices_sent=r.notices_sent,
            first_notice_at=r.first_notice_at,
            last_notice_at=r.last_notice_at,
            escalated=r.escalated,
            next_check_at=r.next_check_at,
            last_checked_at=r.last_checked_at,
            checks=r.checks,
            removed_at=r.removed_at,
            removal_seconds=r.removal_seconds,
            removed_reason=r.removed_reason,
            notices=notices,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif name == "notices":
                value = [n.to_dict() for n in value]
            out[name] = value
        return out


class TakedownService:
    def __init__(
        self, store: Store, settings: Settings, *, actor: str = "system", blobs: BlobStore | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.blobs = blobs

    @cached_property
    def evidence(self) -> EvidenceService:
        """The evidence service, as the system actor (one blob store for every match)."""
        system = LocalActor(self.actor, frozenset({ROLE_SYSTEM}))
        return EvidenceService(self.store, self.settings, system, self.blobs)

    def record(
        self,
        *,
        url: str,
        page_url: str,
        crawl_url_id: int | None,
        signals: FileSignals,
        match: Match,
        data: bytes,
    ) -> tuple[int, bool]:
        """Preserve matched media as evidence and open a takedown; (id, created). Idempotent per URL."""
        return self.record_many([Matched(url, page_url, crawl_url_id, signals, match, data)])[0]

    def record_many(
        self, found: Sequence[Matched], *, lock: Callable[[], AbstractContextManager[object]] = nullcontext
    ) -> list[tuple[int, bool]]:
        """Preserve many matched media and open their takedowns in one unit of work: for each, the
        encrypted evidence, its ``evidence.preserve`` audit event, the takedown and its
        ``takedown.create`` event. (id, created) per item, in order. Idempotent per URL (a URL
        already taken down, or named twice, gives the takedown there is).

        ``lock`` (the store's write lock) is taken after the evidence is encrypted and synced to
        the blob store and held until the transaction commits, so the writers waiting on it do not
        wait for the disk. If a concurrent writer recorded one of the URLs meanwhile (another
        crawler on PostgreSQL), the items are recorded one at a time instead."""
        keys = [url_key(m.url) for m in found]
        with self.store.session() as s:
            ids = self._takedown_ids(s, keys)  # negative: there before
        todo: dict[str, Matched] = {}
        for k, m in zip(keys, found, strict=True):
            if k not in ids:
                todo.setdefault(k, m)
        if todo:
            try:
                ids.update(self._record_new(todo, lock))
            except IntegrityError:
                if len(todo) > 1:  # one at a time: each conflict is settled on its own
                    for k, m in todo.items():
                        ((i, new),) = self.record_many([m], lock=lock)
                        ids[k] = i if new else -i
                else:
                    with self.store.session() as s:
                        ids.update(self._takedown_ids(s, list(todo)))
                    if not all(k in ids for k in todo):  # not the unique URL: some other constraint
                        raise
        out: list[tuple[int, bool]] = []
        for k in keys:
            out.append((abs(ids[k]), ids[k] > 0))
            ids[k] = -abs(ids[k])  # a URL named twice is created once
        return out

    @staticmethod
    def _takedown_ids(s: Session, keys: Sequence[str]) -> dict[str, int]:
        """URL key -> the takedown's id, negated (recorded before), of the keys that have one."""
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(keys))
        for n in range(0, len(unique), CHUNK):
            query = select(TakedownRow.url_key, TakedownRow.id).where(
                TakedownRow.url_key.in_(unique[n : n + CHUNK])
            )
            found.update({str(k): -int(i) for k, i in s.execute(query)})
        return found

    def _record_new(
        self, todo: dict[str, Matched], lock: Callable[[], AbstractContextManager[object]]
    ) -> dict[str, int]:
        """URL key -> takedown id (negated: recorded meanwhile by another writer) of ``todo``."""
        evidence = self.evidence
        evidence.require_preserve()
        sources = {k: _source_key(k, m.data) for k, m in todo.items()}
        kept = evidence.preserved(sources.values())  # preserved before, by an interrupted record
        out: dict[str, int] = {}
        try:
            with ExitStack() as held, unit_of_work(self.store, evidence.blobs) as work:
                sealed = {
                    k: evidence.seal(work, **self._evidence_of(k, sources[k], m))
                    for k, m in todo.items()
                    if sources[k] not in kept
                }
                held.enter_context(lock())  # released after the commit (the ExitStack is outside)
                out.update(self._takedown_ids(work.session, list(todo)))  # recorded meanwhile
                new = {k: m for k, m in todo.items() if k not in out}
                if not new:
                    raise _NothingNew  # rolls back: the unit of work deletes the blobs it wrote
                for k in list(sealed):
                    if k not in new:
                        work.release(NAMESPACE, sealed.pop(k).blob_id)
                rows = evidence.add_sealed(work, list(sealed.values()))
                kept.update({row.source_key: row.id for row in rows})
                out.update(self._add_takedowns(work.session, new, {k: kept[sources[k]] for k in new}))
        except _NothingNew:
            pass
        return out

    def _evidence_of(self, key: str, source_key: str, m: Matched) -> dict[str, Any]:
        return {
            "source_key": source_key,
            "subject_type": "takedown",
            "subject_id": key,
            "kind": "crawled_media",
            "data": m.data,
            "facts": {
                "url": m.url,
                "page_url": m.page_url,
                "md5": m.signals.md5,
                "sha1": m.signals.sha1,
                "pdq": m.signals.pdq,
                "bank": m.match.bank_name,
                "entry_id": m.match.entry_id,
                "category": m.match.category,
            },
            "jurisdictions": self.settings.report_default_jurisdictions,
        }

    def _add_takedowns(
        self, s: Session, new: dict[str, Matched], evidence_ids: dict[str, int]
    ) -> dict[str, int]:
        now = utcnow()
        confirm = not self.settings.removal_require_confirmation
        rows = {
            key: TakedownRow(
                url_key=key,
                url=m.url,
                page_url=m.page_url,
                host=host_of(m.url),
                crawl_url_id=m.crawl_url_id,
                md5=m.signals.md5,
                sha1=m.signals.sha1,
                pdq=m.signals.pdq,
                bank=m.match.bank_name,
                entry_id=m.match.entry_id,
                category=m.match.category,
                evidence_id=evidence_ids[key],
                status="open" if confirm else "awaiting_confirmation",
                first_seen_at=now,
                confirmed_at=now if confirm else None,
                confirmed_by="known-material bank" if confirm else None,
                next_check_at=now if confirm else None,
                notices_sent=0,
                checks=0,
                escalated=False,
            )
            for key, m in new.items()
        }
        s.add_all(rows.values())
        s.flush()
        audit.record_many(
            s,
            [
                audit.NewEvent(
                    self.actor,
                    "takedown.create",
                    "takedown",
                    row.id,
                    {
                        "host": row.host,
                        "bank": row.bank,
                        "entry_id": row.entry_id,
                        "category": row.category,
                        "evidence_id": row.evidence_id,
                        "status": row.status,
                    },
                )
                for row in rows.values()
            ],
        )
        return {key: row.id for key, row in rows.items()}

    def confirm(self, takedown_id: int) -> Takedown:
        """An analyst confirms a match that waited for confirmation; notices may then go out."""
        now = utcnow()
        with self.store.session() as s:
            row = self._row(s, takedown_id)
            if row.status != "awaiting_confirmation":
                raise StateError(f"takedown {takedown_id} is {row.status}, not awaiting confirmation")
            row.status, row.confirmed_at, row.confirmed_by, row.next_check_at = "open", now, self.actor, now
            audit.record(
                s, actor=self.actor, action="takedown.confirm", object_type="takedown", object_id=row.id
            )
            return Takedown.of(row)

    def dismiss(self, takedown_id: int, reason: str) -> Takedown:
        """Close a takedown that should not go on (a wrong match); no more notices or checks."""
        if not reason.strip():
            raise InvalidInputError("give a reason")
        with self.store.session() as s:
            row = self._row(s, takedown_id)
            if row.status in ("removed", "dismissed"):
                raise StateError(f"takedown {takedown_id} is already {row.status}")
            row.status, row.next_check_at = "dismissed", None
            audit.record(
                s,
                actor=self.actor,
                action="takedown.dismiss",
                object_type="takedown",
                object_id=row.id,
                details={"reason": reason.strip()[:500]},
            )
            return Takedown.of(row)

    def list_takedowns(
        self, *, status: str | None = None, host: str | None = None, limit: int = 100, after: int = 0
    ) -> list[Takedown]:
        if status is not None and status not in STATUSES:
            raise InvalidInputError(f"status is one of {', '.join(STATUSES)}")
        with self.store.session() as s:
            q = select(TakedownRow).where(TakedownRow.id > after).order_by(TakedownRow.id)
            if status:
                q = q.where(TakedownRow.status == status)
            if host:
                q = q.where(TakedownRow.host == host.lower())
            return [Takedown.of(r) for r in s.scalars(q.limit(max(1, min(limit, 100_000))))]

    def get(self, takedown_id: int) -> Takedown:
        with self.store.session() as s:
            row = self._row(s, takedown_id)
            notices = tuple(
                Notice(n.id, n.recipient, n.role, n.language, n.channel, n.status, n.error, n.sent_at)
                for n in s.scalars(
                    select(TakedownNoticeRow)
                    .where(TakedownNoticeRow.takedown_id == takedown_id)
                    .order_by(TakedownNoticeRow.id)
                )
            )
            return Takedown.of(row, notices)

    @staticmethod
    def _row(s: Any, takedown_id: int) -> TakedownRow:
        row = s.get(TakedownRow, takedown_id)
        if row is None:
            raise TakedownNotFoundError(f"no takedown {takedown_id}")
        assert isinstance(row, TakedownRow)
        return row
