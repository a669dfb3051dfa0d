"""Takedowns: a media URL whose content matched a known-material bank, and its way to removal.

A match found by the crawler is preserved as evidence (encrypted, :mod:`ohsc.evidence`, one
unit of work with its audit event) and becomes a takedown. With
``OHSC_REMOVAL_REQUIRE_CONFIRMATION`` off (the default, Project Arachnid's model for material
already classified) it is confirmed at once; otherwise it waits for ``ohsc takedown confirm``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ohsc import audit
from ohsc.actor import ROLE_SYSTEM, LocalActor
from ohsc.errors import InvalidInputError, StateError, TakedownNotFoundError
from ohsc.evidence.service import EvidenceService
from ohsc.matching.model import Match
from ohsc.media.blobs import BlobStore
from ohsc.removal.frontier import host_of, url_key
from ohsc.removal.models import TakedownNoticeRow, TakedownRow
from ohsc.settings import Settings
from ohsc.signals.files import FileSignals
from ohsc.store.db import Store
from ohsc.store.types import utcnow

STATUSES = ("awaiting_confirmation", "open", "removed", "dismissed")


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
        key = url_key(url)
        with self.store.session() as s:
            existing = s.scalar(select(TakedownRow.id).where(TakedownRow.url_key == key))
        if existing is not None:
            return existing, False
        evidence_id = self._preserve(key, url, page_url, signals, match, data)
        now = utcnow()
        confirm = not self.settings.removal_require_confirmation
        try:
            with self.store.session() as s:
                row = TakedownRow(
                    url_key=key,
                    url=url,
                    page_url=page_url,
                    host=host_of(url),
                    crawl_url_id=crawl_url_id,
                    md5=signals.md5,
                    sha1=signals.sha1,
                    pdq=signals.pdq,
                    bank=match.bank_name,
                    entry_id=match.entry_id,
                    category=match.category,
                    evidence_id=evidence_id,
                    status="open" if confirm else "awaiting_confirmation",
                    first_seen_at=now,
                    confirmed_at=now if confirm else None,
                    confirmed_by="known-material bank" if confirm else None,
                    next_check_at=now if confirm else None,
                    notices_sent=0,
                    checks=0,
                    escalated=False,
                )
                s.add(row)
                s.flush()
                audit.record(
                    s,
                    actor=self.actor,
                    action="takedown.create",
                    object_type="takedown",
                    object_id=row.id,
                    details={
                        "host": row.host,
                        "bank": row.bank,
                        "entry_id": row.entry_id,
                        "category": row.category,
                        "evidence_id": evidence_id,
                        "status": row.status,
                    },
                )
                return row.id, True
        except IntegrityError:  # another crawler recorded the same URL first
            with self.store.session() as s:
                found = s.scalar(select(TakedownRow.id).where(TakedownRow.url_key == key))
            assert found is not None
            return found, False

    def _preserve(
        self, key: str, url: str, page_url: str, signals: FileSignals, match: Match, data: bytes
    ) -> int:
        """The matched media kept as evidence (by the system actor); its evidence id."""
        system = LocalActor(self.actor, frozenset({ROLE_SYSTEM}))
        digest = hashlib.sha256(data).hexdigest()
        item = EvidenceService(self.store, self.settings, system, self.blobs).preserve(
            source_key=f"removal:{key}:{digest[:16]}",
            subject_type="takedown",
            subject_id=key,
            kind="crawled_media",
            data=data,
            facts={
                "url": url,
                "page_url": page_url,
                "md5": signals.md5,
                "sha1": signals.sha1,
                "pdq": signals.pdq,
                "bank": match.bank_name,
                "entry_id": match.entry_id,
                "category": match.category,
            },
            jurisdictions=self.settings.report_default_jurisdictions,
        )
        return item.id

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
