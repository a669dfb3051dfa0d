"""Finding audit events: by actor, action, subject (object type, and id), period and free text.
One call (:func:`search_events`) behind the audit page; reading the log is not itself audited
(verifying it is, :func:`ohsc.audit.verify_log`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from ohsc.store.db import Store
from ohsc.store.models import AuditEvent

#: the most events one call returns
MAX_LIMIT = 1000


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters, all optional. ``actor`` and ``action``: exact, or a prefix ending in ``*``
    (``review.*``); ``subject``: an object type (``review_item``) or ``type:id``
    (``review_item:12``); ``text``: a case-insensitive substring of the actor, action, object id
    or details; ``since``/``until``: ``[since, until)``."""

    actor: str | None = None
    action: str | None = None
    subject: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @staticmethod
    def _match(column: InstrumentedAttribute[str], value: str) -> ColumnElement[bool]:
        if value.endswith("*"):
            return column.like(_like(value[:-1])[1:], escape="\\")
        return column == value

    def where(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.actor:
            out.append(self._match(AuditEvent.actor, self.actor.strip()))
        if self.action:
            out.append(self._match(AuditEvent.action, self.action.strip()))
        if self.subject:
            kind, _, ident = self.subject.strip().partition(":")
            out.append(AuditEvent.object_type == kind)
            if ident:
                out.append(AuditEvent.object_id == ident)
        if self.text:
            pattern = _like(self.text.strip().lower())
            out.append(
                or_(
                    *(
                        col.ilike(pattern, escape="\\")
                        for col in (
                            AuditEvent.actor,
                            AuditEvent.action,
                            AuditEvent.object_id,
                            cast(AuditEvent.details, String),
                        )
                    )
                )
            )
        if self.since is not None:
            out.append(AuditEvent.at >= self.since)
        if self.until is not None:
            out.append(AuditEvent.at < self.until)
        return out


def search_events(
    store: Store, query: AuditQuery, *, before: int | None = None, limit: int = 100
) -> list[AuditEvent]:
    """Events newest first, with sequence numbers below ``before``; at most ``limit`` (ask one
    more to know whether there is a next page). Detached rows, safe to read after the call."""
    q = select(AuditEvent).where(*query.where())
    if before is not None:
        q = q.where(AuditEvent.seq < before)
    with store.session() as s:
        rows = list(s.scalars(q.order_by(AuditEvent.seq.desc()).limit(max(1, min(limit, MAX_LIMIT)))))
        s.expunge_all()
    return rows
