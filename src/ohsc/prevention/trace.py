"""Trace an Object: sanitised pictures of objects from abuse images, shown to the public with a
question, so that anyone who recognises an object can send an anonymous tip.

Life of an object::

    draft --submit--> pending --approve (a second person)--> published --identify--> identified
      ^                  |                                      |
      +----reject--------+        edit of a published object ---+--> pending (approve again)
    any state --retire--> retired (hidden from the public)

Pictures are re-encoded from their pixels (no metadata survives) and kept encrypted in the blob
store under the ``objects`` namespace. Every step is an audit event naming ids, never content.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.actor import ROLE_ADMIN, ROLE_INVESTIGATOR, Actor, require
from ohsc.errors import InvalidInputError, StateError, TraceObjectNotFoundError, TwoPersonRuleError
from ohsc.media.blobs import BlobStore
from ohsc.prevention.images import SanitisedImage, sanitise
from ohsc.prevention.models import TraceObjectRow, TraceTipRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow
from ohsc.store.unit import UnitOfWork, unit_of_work

NAMESPACE = "objects"
MAX_CATEGORY = 100
MAX_QUESTION = 1000
#: Suggested categories (free text is allowed; these keep the gallery's filter tidy).
CATEGORIES = (
    "clothing",
    "toys",
    "furniture",
    "bedding and textiles",
    "packaging and labels",
    "signs and logos",
    "household items",
    "electronics",
    "outdoors and buildings",
    "other",
)


class ObjectStatus(StrEnum):
    """Storage keys: never rename."""

    DRAFT = "draft"
    PENDING = "pending"
    PUBLISHED = "published"
    IDENTIFIED = "identified"
    RETIRED = "retired"


#: States the public sees; tips are taken only for published objects.
#: Account roles that may approve objects (counted for ``--sole-operator``).
APPROVER_ACCOUNT_ROLES = (ROLE_ADMIN, ROLE_INVESTIGATOR)

PUBLIC_STATES = (ObjectStatus.PUBLISHED, ObjectStatus.IDENTIFIED)


@dataclass(frozen=True, slots=True)
class TraceObject:
    id: int
    public_id: str
    category: str
    question: str
    status: str
    width: int
    height: int
    image_format: str
    image_sha256: str
    created_by: str
    updated_by: str
    submitted_by: str | None
    approved_by: str | None
    status_note: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    identified_at: datetime | None
    retired_at: datetime | None
    tips: int = 0
    new_tips: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "public_id": self.public_id,
            "category": self.category,
            "question": self.question,
            "status": self.status,
            "width": self.width,
            "height": self.height,
            "image_format": self.image_format,
            "image_sha256": self.image_sha256,
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "submitted_by": self.submitted_by,
            "approved_by": self.approved_by,
            "status_note": self.status_note,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "identified_at": self.identified_at.isoformat() if self.identified_at else None,
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "tips": self.tips,
            "new_tips": self.new_tips,
        }


@dataclass(frozen=True, slots=True)
class PublicObject:
    """What the public gallery shows: no names, no internal ids, no dates beyond publication."""

    public_id: str
    category: str
    question: str
    identified: bool
    width: int
    height: int
    published_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.public_id,
            "category": self.category,
            "question": self.question,
            "identified": self.identified,
            "width": self.width,
            "height": self.height,
            "published_at": self.published_at.date().isoformat() if self.published_at else None,
        }


def _to_object(row: TraceObjectRow, tips: int = 0, new_tips: int = 0) -> TraceObject:
    return TraceObject(
        id=row.id,
        public_id=row.public_id,
        category=row.category,
        question=row.question,
        status=row.status,
        width=row.width,
        height=row.height,
        image_format=row.image_format,
        image_sha256=row.image_sha256,
        created_by=row.created_by,
        updated_by=row.updated_by,
        submitted_by=row.submitted_by,
        approved_by=row.approved_by,
        status_note=row.status_note,
        created_at=row.created_at,
        updated_at=row.updated_at,
        published_at=row.published_at,
        identified_at=row.identified_at,
        retired_at=row.retired_at,
        tips=tips,
        new_tips=new_tips,
    )


def _to_public(row: TraceObjectRow) -> PublicObject:
    return PublicObject(
        public_id=row.public_id,
        category=row.category,
        question=row.question,
        identified=row.status == ObjectStatus.IDENTIFIED,
        width=row.width,
        height=row.height,
        published_at=row.published_at,
    )


def _clean_text(value: str, what: str, limit: int, *, multiline: bool) -> str:
    text = " ".join(value.split()) if not multiline else value.replace("\r\n", "\n").strip()
    text = "".join(ch for ch in text if ch == "\n" or ch.isprintable())
    if not text:
        raise InvalidInputError(f"{what} is required")
    if len(text) > limit:
        raise InvalidInputError(f"{what} is longer than {limit} characters")
    return text


class TraceObjects:
    """Investigators' side of Trace an Object, and the read-only public gallery."""

    def __init__(self, store: Store, blobs: BlobStore, settings: Settings) -> None:
        self.store = store
        self.blobs = blobs
        self.settings = settings

    # --- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _row(s: Session, object_id: int) -> TraceObjectRow:
        row = s.get(TraceObjectRow, object_id)
        if row is None:
            raise TraceObjectNotFoundError(f"no object {object_id}")
        return row

    def _tip_counts(self, s: Session, ids: list[int]) -> dict[int, tuple[int, int]]:
        if not ids:
            return {}
        q = (
            select(
                TraceTipRow.object_id,
                func.count(),
                func.count().filter(TraceTipRow.status == "new"),
            )
            .where(TraceTipRow.object_id.in_(ids))
            .group_by(TraceTipRow.object_id)
        )
        return {oid: (int(n), int(new)) for oid, n, new in s.execute(q)}

    def _sanitise(self, data: bytes) -> SanitisedImage:
        return sanitise(
            data,
            max_bytes=self.settings.trace_max_upload_bytes,
            max_pixels=self.settings.max_image_pixels,
            max_side=self.settings.trace_max_side,
        )

    @staticmethod
    def _set_image(work: UnitOfWork, row: TraceObjectRow, img: SanitisedImage) -> None:
        """Store the picture and its thumbnail in ``work`` (gone again if it does not commit)."""
        row.image_blob, row.thumb_blob = work.put(NAMESPACE, img.data), work.put(NAMESPACE, img.thumb)
        row.image_sha256, row.image_format = img.sha256, img.format
        row.width, row.height = img.width, img.height

    def _audit(self, s: Session, actor: Actor, action: str, row: TraceObjectRow, **details: Any) -> None:
        audit.record(
            s,
            actor=actor.name,
            action=f"trace_object.{action}",
            object_type="trace_object",
            object_id=row.id,
            details={"status": row.status, **details},
        )

    # --- investigators -----------------------------------------------------------------------

    def create(self, actor: Actor, image: bytes, *, category: str, question: str) -> TraceObject:
        require(actor, ROLE_INVESTIGATOR, action="add objects")
        category = _clean_text(category, "category", MAX_CATEGORY, multiline=False)
        question = _clean_text(question, "question", MAX_QUESTION, multiline=True)
        img = self._sanitise(image)
        with unit_of_work(self.store, self.blobs) as work:
            s = work.session
            row = TraceObjectRow(
                public_id=secrets.token_hex(8),
                category=category,
                question=question,
                status=ObjectStatus.DRAFT,
                created_by=actor.name,
                updated_by=actor.name,
            )
            self._set_image(work, row, img)
            s.add(row)
            s.flush()
            self._audit(s, actor, "create", row, image_sha256=img.sha256)
            return _to_object(row)

    def update(
        self,
        actor: Actor,
        object_id: int,
        *,
        category: str | None = None,
        question: str | None = None,
        image: bytes | None = None,
    ) -> TraceObject:
        """Change an object; a published one goes back to pending and needs approval again."""
        require(actor, ROLE_INVESTIGATOR, action="edit objects")
        new_category = _clean_text(category, "category", MAX_CATEGORY, multiline=False) if category else None
        new_question = _clean_text(question, "question", MAX_QUESTION, multiline=True) if question else None
        img = self._sanitise(image) if image is not None else None
        with unit_of_work(self.store, self.blobs) as work:  # old pictures go once the change commits
            s = work.session
            row = self._row(s, object_id)
            if row.status in {ObjectStatus.RETIRED, ObjectStatus.IDENTIFIED}:
                raise StateError(f"object {object_id} is {row.status} and can no longer be edited")
            changed: list[str] = []
            if new_category is not None and new_category != row.category:
                row.category = new_category
                changed.append("category")
            if new_question is not None and new_question != row.question:
                row.question = new_question
                changed.append("question")
            if img is not None:
                work.release(NAMESPACE, row.image_blob)
                work.release(NAMESPACE, row.thumb_blob)
                self._set_image(work, row, img)
                changed.append("image")
            if changed:
                row.updated_by = actor.name
                row.updated_at = utcnow()
                if row.status == ObjectStatus.PUBLISHED:
                    row.status = ObjectStatus.PENDING
                    row.submitted_by, row.submitted_at = actor.name, utcnow()
                    row.approved_by = None
                s.flush()
                self._audit(s, actor, "update", row, fields=changed, image_sha256=row.image_sha256)
            return _to_object(row)

    def submit(self, actor: Actor, object_id: int) -> TraceObject:
        require(actor, ROLE_INVESTIGATOR, action="submit objects for approval")
        with self.store.session() as s:
            row = self._row(s, object_id)
            if row.status != ObjectStatus.DRAFT:
                raise StateError(f"only drafts can be submitted; object {object_id} is {row.status}")
            row.status = ObjectStatus.PENDING
            row.submitted_by, row.submitted_at = actor.name, utcnow()
            row.status_note = ""
            self._audit(s, actor, "submit", row)
            return _to_object(row)

    def approve(self, actor: Actor, object_id: int, *, sole_operator: bool = False) -> TraceObject:
        """Publish a pending object. The approver must be a second person: not whoever created,
        last edited or submitted it.

        ``sole_operator``: on an installation with at most one account that may approve objects
        (investigator or admin), that one person may approve their own object; the audit event
        says so. Refused as soon as a second such account exists.
        """
        require(actor, ROLE_INVESTIGATOR, action="approve objects")
        with self.store.session() as s:
            row = self._row(s, object_id)
            if row.status != ObjectStatus.PENDING:
                raise StateError(f"only pending objects can be approved; object {object_id} is {row.status}")
            override: dict[str, Any] = {}
            if actor.name in {row.created_by, row.updated_by, row.submitted_by}:
                override = self._sole_operator(s, actor, object_id, sole_operator)
            row.status = ObjectStatus.PUBLISHED
            row.approved_by = actor.name
            row.published_at = utcnow()
            prepared_by = sorted({row.created_by, row.updated_by})
            self._audit(s, actor, "approve", row, prepared_by=prepared_by, **override)
            return _to_object(row)

    @staticmethod
    def _sole_operator(s: Session, actor: Actor, object_id: int, asked: bool) -> dict[str, Any]:
        """The details of an allowed self-approval, or :class:`TwoPersonRuleError`."""
        from ohsc.accounts.models import UserRow

        if not asked:
            raise TwoPersonRuleError(
                f"{actor.name} prepared object {object_id}; a second investigator must approve it "
                "(an installation with a single investigator or administrator: --sole-operator)"
            )
        approvers = s.scalar(
            select(func.count())
            .select_from(UserRow)
            .where(UserRow.enabled.is_(True), UserRow.role.in_(APPROVER_ACCOUNT_ROLES))
        )
        if approvers and approvers > 1:
            raise TwoPersonRuleError(
                f"{actor.name} prepared object {object_id} and {approvers} accounts may approve objects: "
                "one of the others must approve it (--sole-operator is for one-person installations)"
            )
        return {"sole_operator": True, "approver_accounts": int(approvers or 0)}

    def reject(self, actor: Actor, object_id: int, reason: str) -> TraceObject:
        require(actor, ROLE_INVESTIGATOR, action="reject objects")
        note = _clean_text(reason, "reason", 1000, multiline=True)
        with self.store.session() as s:
            row = self._row(s, object_id)
            if row.status != ObjectStatus.PENDING:
                raise StateError(f"only pending objects can be rejected; object {object_id} is {row.status}")
            row.status = ObjectStatus.DRAFT
            row.status_note = note
            self._audit(s, actor, "reject", row)
            return _to_object(row)

    def identify(self, actor: Actor, object_id: int, note: str = "") -> TraceObject:
        """The object was identified: the public sees a thank-you and no more tips are taken."""
        require(actor, ROLE_INVESTIGATOR, action="mark objects identified")
        with self.store.session() as s:
            row = self._row(s, object_id)
            if row.status != ObjectStatus.PUBLISHED:
                raise StateError(
                    f"only published objects can be marked identified; object {object_id} is {row.status}"
                )
            row.status = ObjectStatus.IDENTIFIED
            row.identified_at = utcnow()
            if note:
                row.status_note = _clean_text(note, "note", 1000, multiline=True)
            self._audit(s, actor, "identify", row)
            return _to_object(row)

    def retire(self, actor: Actor, object_id: int, note: str = "") -> TraceObject:
        """Take an object off the public gallery for good (tips are kept)."""
        require(actor, ROLE_INVESTIGATOR, action="retire objects")
        with self.store.session() as s:
            row = self._row(s, object_id)
            if row.status == ObjectStatus.RETIRED:
                return _to_object(row)
            previous = row.status
            row.status = ObjectStatus.RETIRED
            row.retired_at = utcnow()
            if note:
                row.status_note = _clean_text(note, "note", 1000, multiline=True)
            self._audit(s, actor, "retire", row, previous=previous)
            return _to_object(row)

    def get(self, actor: Actor, object_id: int) -> TraceObject:
        require(actor, ROLE_INVESTIGATOR, action="see objects")
        with self.store.session() as s:
            row = self._row(s, object_id)
            n, new = self._tip_counts(s, [row.id]).get(row.id, (0, 0))
            return _to_object(row, n, new)

    def list_objects(self, actor: Actor, *, status: str | None = None) -> list[TraceObject]:
        require(actor, ROLE_INVESTIGATOR, action="see objects")
        if status is not None and status not in set(ObjectStatus):
            raise InvalidInputError(f"status is one of {', '.join(ObjectStatus)}")
        with self.store.session() as s:
            q = select(TraceObjectRow).order_by(TraceObjectRow.id.desc())
            if status is not None:
                q = q.where(TraceObjectRow.status == status)
            rows = list(s.scalars(q))
            counts = self._tip_counts(s, [r.id for r in rows])
            return [_to_object(r, *counts.get(r.id, (0, 0))) for r in rows]

    def image(self, actor: Actor, object_id: int, *, thumb: bool = False) -> tuple[bytes, str]:
        """The (sanitised) picture and its MIME type, for investigators in any state."""
        require(actor, ROLE_INVESTIGATOR, action="see objects")
        with self.store.session() as s:
            row = self._row(s, object_id)
            blob, fmt = (row.thumb_blob, "jpeg") if thumb else (row.image_blob, row.image_format)
        return self.blobs.get(NAMESPACE, blob), f"image/{fmt}"

    # --- the public gallery (no login) -------------------------------------------------------

    def public_list(
        self, *, category: str | None = None, include_identified: bool = True
    ) -> list[PublicObject]:
        states = list(PUBLIC_STATES) if include_identified else [ObjectStatus.PUBLISHED]
        with self.store.session() as s:
            q = (
                select(TraceObjectRow)
                .where(TraceObjectRow.status.in_(states))
                .order_by(TraceObjectRow.published_at.desc(), TraceObjectRow.id.desc())
            )
            if category:
                q = q.where(TraceObjectRow.category == category)
            return [_to_public(r) for r in s.scalars(q)]

    def public_categories(self) -> list[str]:
        with self.store.session() as s:
            q = (
                select(TraceObjectRow.category)
                .where(TraceObjectRow.status.in_(list(PUBLIC_STATES)))
                .distinct()
                .order_by(TraceObjectRow.category)
            )
            return list(s.scalars(q))

    def _public_row(self, s: Session, public_id: str) -> TraceObjectRow:
        row = None
        if len(public_id) == 16 and all(c in "0123456789abcdef" for c in public_id):
            row = s.scalar(select(TraceObjectRow).where(TraceObjectRow.public_id == public_id))
        if row is None or row.status not in PUBLIC_STATES:
            raise TraceObjectNotFoundError("no such object")
        return row

    def public_get(self, public_id: str) -> PublicObject:
        with self.store.session() as s:
            return _to_public(self._public_row(s, public_id))

    def public_image(self, public_id: str, *, thumb: bool = False) -> tuple[bytes, str]:
        with self.store.session() as s:
            row = self._public_row(s, public_id)
            blob, fmt = (row.thumb_blob, "jpeg") if thumb else (row.image_blob, row.image_format)
        return self.blobs.get(NAMESPACE, blob), f"image/{fmt}"
