"""The evidence service: preserve, list, read, hold and release (purging: :mod:`ohsc.evidence.purging`;
access control: :mod:`ohsc.evidence.access`). Every access is audited.

Content goes to the encrypted blob store (namespace ``evidence``); the database keeps identifiers,
hashes, the retention period and legal holds. Roles decide who may do what (settings
``OHSC_EVIDENCE_ROLES`` and ``OHSC_REPORT_ROLES``); a refused attempt is audited too, in its own
transaction, before the error is raised: ``<action>.denied`` when the actor may not (a role, or a
web request refused before it reached the service, see :meth:`EvidenceService.refuse`),
``<action>.refused`` when the request cannot be done (no such item or hold, a purged item, bad
input), with the reason (the error code) and the ids.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ohsc import audit, jurisdiction
from ohsc.actor import ROLE_SYSTEM
from ohsc.errors import (
    ConfigError,
    ConflictError,
    EvidenceNotFoundError,
    InvalidInputError,
)
from ohsc.evidence.access import NAMESPACE, open_blob_store
from ohsc.evidence.model import EvidenceItem, Hold, Sealed
from ohsc.evidence.purging import EvidencePurging, PurgeResult
from ohsc.evidence.tables import EvidenceHoldRow, EvidenceItemRow
from ohsc.media.blobs import BlobIntegrityError
from ohsc.permissions import private_dir
from ohsc.settings import Settings
from ohsc.store.types import utcnow
from ohsc.store.unit import UnitOfWork, unit_of_work

#: How many item ids one ``evidence.list`` audit event names.
_LIST_IDS_IN_AUDIT = 500


def retention_days_for(settings: Settings, jurisdictions: Iterable[str]) -> int:
    """Days to keep evidence for content in these jurisdictions: the longest period that applies."""
    mapping = settings.evidence_retention_days
    codes = list(jurisdictions)
    days = [value for _code, _key, value in jurisdiction.lookup_all(mapping, codes)]
    if not days:
        if jurisdiction.ANY in mapping:
            return mapping[jurisdiction.ANY]
        raise ConfigError(
            f"no evidence retention period for {', '.join(codes) or 'reports without a jurisdiction'}: "
            "add it (or *) to OHSC_EVIDENCE_RETENTION_DAYS"
        )
    return max(days)


class EvidenceService(EvidencePurging):
    """Evidence for one actor. ``blobs`` defaults to the local encrypted store."""

    # --- writing -----------------------------------------------------------------------------

    def preserve(
        self,
        *,
        source_key: str,
        subject_type: str,
        subject_id: str,
        kind: str,
        data: bytes,
        facts: dict[str, Any],
        jurisdictions: Sequence[str],
        preserved_at: datetime | None = None,
    ) -> EvidenceItem:
        """Keep ``data`` encrypted for the retention period of ``jurisdictions``. Idempotent per key."""
        self.require_preserve(source_key)
        with self.store.session() as s:
            existing = self._by_key(s, source_key)
            if existing is not None:
                return EvidenceItem.from_row(existing)
        try:
            with unit_of_work(self.store, self.blobs) as work:
                sealed = self.seal(
                    work,
                    source_key=source_key,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    kind=kind,
                    data=data,
                    facts=facts,
                    jurisdictions=jurisdictions,
                    preserved_at=preserved_at,
                )
                (row,) = self.add_sealed(work, [sealed])
                work.session.refresh(row, ["holds"])
                return EvidenceItem.from_row(row)
        except IntegrityError:
            # Another process preserved the same key first: keep theirs (ours went with the rollback).
            with self.store.session() as s:
                again = self._by_key(s, source_key)
                if again is None:  # not the unique key: some other constraint refused the row
                    raise
                return EvidenceItem.from_row(again)

    def require_preserve(self, source_key: str | None = None) -> None:
        """Refuse (audited) an actor that may not preserve evidence."""
        self._require(
            self._metadata_roles | {ROLE_SYSTEM}, "evidence.preserve", "preserve evidence", source_key
        )

    def seal(
        self,
        work: UnitOfWork,
        *,
        source_key: str,
        subject_type: str,
        subject_id: str,
        kind: str,
        data: bytes,
        facts: dict[str, Any],
        jurisdictions: Sequence[str],
        preserved_at: datetime | None = None,
    ) -> Sealed:
        """The first half of preserving in the caller's unit of work: the content encrypted into
        the blob store (written and synced; removed again unless ``work`` commits). No database
        statement, so a caller may do this before it takes the store's write lock, and then
        :meth:`add_sealed` many items in one transaction. The caller checks the role first
        (:meth:`require_preserve`) and that nothing is preserved under ``source_key``."""
        codes = sorted({jurisdiction.normalise(c) for c in jurisdictions})
        days = retention_days_for(self.settings, codes)
        at = preserved_at or utcnow()
        return Sealed(
            source_key=source_key,
            subject_type=subject_type,
            subject_id=subject_id,
            kind=kind,
            blob_id=work.put(NAMESPACE, data),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            facts=facts,
            jurisdictions=codes,
            retention_days=days,
            preserved_at=at,
        )

    def add_sealed(self, work: UnitOfWork, items: Sequence[Sealed]) -> list[EvidenceItemRow]:
        """The second half: the items' rows and each item's ``evidence.preserve`` audit event, in
        ``work``'s transaction (one flush for all the rows)."""
        s = work.session
        rows = [
            EvidenceItemRow(
                source_key=i.source_key,
                subject_type=i.subject_type,
                subject_id=i.subject_id,
                kind=i.kind,
                blob_id=i.blob_id,
                sha256=i.sha256,
                size=i.size,
                facts=i.facts,
                jurisdictions=i.jurisdictions,
                retention_days=i.retention_days,
                preserved_at=i.preserved_at,
                preserved_by=self.actor.name,
                retain_until=i.preserved_at + timedelta(days=i.retention_days),
            )
            for i in items
        ]
        s.add_all(rows)
        s.flush()
        audit.record_many(
            s,
            [
                audit.NewEvent(
                    self.actor.name,
                    "evidence.preserve",
                    "evidence",
                    row.id,
                    {
                        "source_key": i.source_key,
                        "kind": i.kind,
                        "sha256": i.sha256,
                        "size": i.size,
                        "jurisdictions": i.jurisdictions,
                        "retain_until": row.retain_until.isoformat(),
                    },
                )
                for i, row in zip(items, rows, strict=True)
            ],
        )
        return rows

    def preserved(self, source_keys: Iterable[str]) -> dict[str, int]:
        """Source key -> item id, of the keys under which something is preserved (no content)."""
        keys = list(dict.fromkeys(source_keys))
        found: dict[str, int] = {}
        with self.store.session() as s:
            for n in range(0, len(keys), 500):
                query = select(EvidenceItemRow.source_key, EvidenceItemRow.id).where(
                    EvidenceItemRow.source_key.in_(keys[n : n + 500])
                )
                found.update({str(k): int(i) for k, i in s.execute(query)})
        return found

    def has(self, source_key: str) -> bool:
        """Whether something was preserved under ``source_key`` (for idempotent callers; no content)."""
        with self.store.session() as s:
            return self._by_key(s, source_key) is not None

    def restart_retention(self, subject_type: str, subject_id: str, *, at: datetime) -> int:
        """Start the retention period of a subject's items at ``at`` (the time a report was filed)."""
        with self.store.session() as s:
            rows = list(
                s.scalars(
                    select(EvidenceItemRow).where(
                        EvidenceItemRow.subject_type == subject_type,
                        EvidenceItemRow.subject_id == subject_id,
                        EvidenceItemRow.purged_at.is_(None),
                    )
                )
            )
            for row in rows:
                row.retain_until = at + timedelta(days=row.retention_days)
            if rows:
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="evidence.retention_start",
                    object_type="evidence",
                    object_id=f"{subject_type}:{subject_id}",
                    details={"items": [r.id for r in rows], "from": at.isoformat()},
                )
            return len(rows)

    def hold(
        self,
        item_ids: Sequence[int] = (),
        *,
        subject: tuple[str, str] | None = None,
        reason: str,
        until: datetime | None = None,
        reference: str | None = None,
    ) -> list[Hold]:
        """Place a legal hold on items (by id, or every item of a subject such as a report)."""
        target = f"{subject[0]}:{subject[1]}" if subject else ",".join(str(i) for i in item_ids) or None
        self._require(self._content_roles, "evidence.hold", "place legal holds", target)
        with self._refusals("evidence.hold", target):
            return self._hold(item_ids, subject, reason, until, reference)

    def _hold(
        self,
        item_ids: Sequence[int],
        subject: tuple[str, str] | None,
        reason: str,
        until: datetime | None,
        reference: str | None,
    ) -> list[Hold]:
        reason = reason.strip()
        if not reason:
            raise InvalidInputError("a legal hold needs a reason (for example the legal process behind it)")
        now = utcnow()
        if until is not None and until <= now:
            raise InvalidInputError("a legal hold must last into the future (--until)")
        with self.store.session() as s:
            rows = self._select(s, item_ids, subject)
            holds: list[Hold] = []
            for row in rows:
                if row.purged_at is not None:
                    raise ConflictError(f"evidence item {row.id} was purged on {row.purged_at:%Y-%m-%d}")
                hold = EvidenceHoldRow(
                    item_id=row.id,
                    reason=reason,
                    reference=reference,
                    placed_by=self.actor.name,
                    placed_at=now,
                    until=until,
                )
                s.add(hold)
                s.flush()
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="evidence.hold",
                    object_type="evidence",
                    object_id=row.id,
                    details={
                        "hold_id": hold.id,
                        "until": until.isoformat() if until else None,
                        "reference": reference,
                    },
                )
                holds.append(Hold.from_row(hold))
            return holds

    def release(self, hold_id: int, *, reason: str) -> Hold:
        self._require(self._content_roles, "evidence.release", "release legal holds", hold_id)
        with self._refusals("evidence.release", hold_id):
            return self._release(hold_id, reason)

    def _release(self, hold_id: int, reason: str) -> Hold:
        if not reason.strip():
            raise InvalidInputError("releasing a legal hold needs a reason")
        with self.store.session() as s:
            hold = s.get(EvidenceHoldRow, hold_id)
            if hold is None:
                raise EvidenceNotFoundError(f"no legal hold {hold_id}")
            if hold.released_at is not None:
                raise ConflictError(f"legal hold {hold_id} was already released")
            hold.released_at = utcnow()
            hold.released_by = self.actor.name
            hold.release_reason = reason.strip()
            audit.record(
                s,
                actor=self.actor.name,
                action="evidence.release",
                object_type="evidence",
                object_id=hold.item_id,
                details={"hold_id": hold.id},
            )
            return Hold.from_row(hold)

    # --- reading -----------------------------------------------------------------------------

    def items(
        self,
        *,
        subject: tuple[str, str] | None = None,
        include_purged: bool = False,
        due_at: datetime | None = None,
    ) -> list[EvidenceItem]:
        """Items (metadata only); ``due_at``: only those whose period has ended by then."""
        self._require(self._metadata_roles, "evidence.list", "list evidence")
        with self.store.session() as s:
            q = (
                select(EvidenceItemRow)
                .options(selectinload(EvidenceItemRow.holds))
                .order_by(EvidenceItemRow.id)
            )
            if subject is not None:
                q = q.where(
                    EvidenceItemRow.subject_type == subject[0], EvidenceItemRow.subject_id == subject[1]
                )
            if not include_purged:
                q = q.where(EvidenceItemRow.purged_at.is_(None))
            items = [EvidenceItem.from_row(r) for r in s.scalars(q)]
            if due_at is not None:
                items = [i for i in items if i.due(due_at)]
            audit.record(
                s,
                actor=self.actor.name,
                action="evidence.list",
                object_type="evidence",
                details={
                    "count": len(items),
                    "ids": [i.id for i in items[:_LIST_IDS_IN_AUDIT]],
                    "subject": f"{subject[0]}:{subject[1]}" if subject else None,
                },
            )
            return items

    def get(self, item_id: int) -> EvidenceItem:
        self._require(self._metadata_roles, "evidence.view", "view evidence", item_id)
        with self._refusals("evidence.view", item_id), self.store.session() as s:
            row = self._row(s, item_id)
            audit.record(
                s, actor=self.actor.name, action="evidence.view", object_type="evidence", object_id=row.id
            )
            return EvidenceItem.from_row(row)

    def read(self, item_id: int, *, purpose: str = "read") -> bytes:
        """The preserved content, checked against its SHA-256. Only evidence roles may read it."""
        self._require(self._content_roles, "evidence.read", "read evidence content", item_id)
        with self._refusals("evidence.read", item_id):
            with self.store.session() as s:
                row = self._row(s, item_id)
                if row.blob_id is None:
                    raise ConflictError(f"evidence item {item_id} was purged on {row.purged_at:%Y-%m-%d}")
                blob_id, expected = row.blob_id, row.sha256
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="evidence.read",
                    object_type="evidence",
                    object_id=row.id,
                    details={"purpose": purpose, "sha256": expected},
                )
            data = self.blobs.get(NAMESPACE, blob_id)
            if hashlib.sha256(data).hexdigest() != expected:
                raise BlobIntegrityError(f"evidence item {item_id} does not match its SHA-256")
            return data

    def read_for_submission(self, source_key: str, destination: str) -> bytes:
        """Preserved content being sent to a destination by whoever submits the report (audited).

        Submitting needs the content; the submitter holds report roles, not evidence roles, so this
        is the one read allowed to them, and only to send it on.
        """
        self._require(
            self._metadata_roles | {ROLE_SYSTEM},
            "evidence.read",
            "send evidence to a destination",
            source_key,
        )
        with self._refusals("evidence.read", source_key):
            with self.store.session() as s:
                row = self._by_key(s, source_key)
                if row is None:
                    raise EvidenceNotFoundError(f"nothing preserved as {source_key}")
                if row.blob_id is None:
                    raise ConflictError(f"evidence item {row.id} was purged on {row.purged_at:%Y-%m-%d}")
                blob_id, expected = row.blob_id, row.sha256
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="evidence.read",
                    object_type="evidence",
                    object_id=row.id,
                    details={"purpose": f"submission to {destination}", "sha256": expected},
                )
            data = self.blobs.get(NAMESPACE, blob_id)
            if hashlib.sha256(data).hexdigest() != expected:
                raise BlobIntegrityError(f"evidence item {source_key} does not match its SHA-256")
            return data

    def export(self, item_id: int, path: Path) -> Path:
        """Write the content to ``path`` (owner-only permissions; never overwrites)."""
        data = self.read(item_id, purpose=f"export to {path.name}")
        private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConflictError(f"{path} exists: choose another file name") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return path


__all__ = ["NAMESPACE", "EvidenceService", "PurgeResult", "open_blob_store", "retention_days_for"]
