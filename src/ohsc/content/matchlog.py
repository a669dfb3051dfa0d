"""The match log: what matched, when, in which bank, with which verdict. One query for the API
(``GET /v1/matches``) and the CLI (``ohsc matches``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, select

from ohsc.content.models import ContentRow, MatchRecordRow
from ohsc.errors import NotFoundError
from ohsc.store.db import Store
from ohsc.store.models import EntryRow
from ohsc.store.types import IsoTime

_Query = Select[MatchRecordRow, str | None]


def match_record(r: MatchRecordRow) -> dict[str, Any]:
    """A stored match as the API and the review pages show it."""
    return {
        "match_id": r.id,
        "bank": r.bank_name,
        "bank_id": r.bank_id,
        "entry_id": r.entry_id,
        "external_id": r.external_id,
        "signal_type": r.signal_type,
        "distance": r.distance,
        "threshold": r.threshold,
        "category": r.category,
        "labels": list(r.labels),
        "source": r.source,
        "kind": r.kind,
        "verdict": r.verdict,
        "flood_controlled": r.flood_controlled,
    }


class MatchFields(BaseModel):
    """What every showing of a match says (the keys of :func:`match_record`): the match log's
    records and a review item's matches (``ReviewMatchOut`` of the API) add to it."""

    match_id: int
    bank: str
    bank_id: int
    entry_id: int
    external_id: str | None
    signal_type: str
    distance: int
    threshold: int
    category: str | None
    labels: list[str]
    source: str
    kind: str
    verdict: str
    flood_controlled: bool


class MatchRecord(MatchFields):
    """A match in the log, as ``GET /v1/matches`` and ``ohsc matches --json`` show it."""

    model_config = ConfigDict(frozen=True)

    content_id: int
    client_content_id: str | None
    created_at: IsoTime
    #: the review item the content went to, and its status (the console's match log; None: not
    #: queued, or not looked up)
    review_item_id: int | None = None
    review_status: str | None = None


def _logged(r: MatchRecordRow, client_ref: str | None) -> MatchRecord:
    return MatchRecord(
        **match_record(r),
        content_id=r.content_item_id,
        client_content_id=client_ref,
        created_at=r.created_at,
    )


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """Filters of the match log; ``kind`` is match (default), allowlist or suppressed.
    ``content_ref`` is the caller's own content id; ``hash`` a bank entry's value (any signal type)."""

    bank: str | None = None
    verdict: str | None = None
    kind: str | None = None
    category: str | None = None
    entry_id: int | None = None
    content_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    content_ref: str | None = None
    hash: str | None = None

    def apply(self, q: _Query) -> _Query:
        q = q.where(MatchRecordRow.kind == (self.kind or "match"))
        if self.bank:
            q = q.where(MatchRecordRow.bank_name == self.bank)
        if self.verdict:
            q = q.where(MatchRecordRow.verdict == self.verdict)
        if self.category:
            q = q.where(MatchRecordRow.category == self.category)
        if self.entry_id is not None:
            q = q.where(MatchRecordRow.entry_id == self.entry_id)
        if self.content_id is not None:
            q = q.where(MatchRecordRow.content_item_id == self.content_id)
        if self.content_ref:
            q = q.where(ContentRow.client_ref == self.content_ref)
        if self.hash:
            value = self.hash.strip().lower()
            q = q.where(MatchRecordRow.entry_id.in_(select(EntryRow.id).where(EntryRow.value == value)))
        if self.since is not None:
            q = q.where(MatchRecordRow.created_at >= self.since)
        if self.until is not None:
            q = q.where(MatchRecordRow.created_at < self.until)
        return q


def _select() -> _Query:
    return select(MatchRecordRow, ContentRow.client_ref).join(
        ContentRow, ContentRow.id == MatchRecordRow.content_item_id
    )


def list_matches(
    store: Store, query: MatchQuery, *, before: int | None = None, limit: int = 100
) -> list[MatchRecord]:
    """Matches newest first, ids below ``before``; at most ``limit`` (ask one more to page)."""
    q = query.apply(_select())
    if before is not None:
        q = q.where(MatchRecordRow.id < before)
    with store.session() as s:
        rows = s.execute(q.order_by(MatchRecordRow.id.desc()).limit(limit)).all()
        return [_logged(r, ref) for r, ref in rows]


def get_match(store: Store, match_id: int) -> MatchRecord:
    with store.session() as s:
        found = s.execute(_select().where(MatchRecordRow.id == match_id)).first()
        if found is None:
            raise NotFoundError(f"no match {match_id}")
        return _logged(found[0], found[1])
