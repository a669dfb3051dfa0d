"""This node's published feeds: which bank goes to which partner, and the signed pages served.

A bank is published per partner: a grant names the bank and one API key (with the ``feed``
scope). ``page`` returns the bank's changes after a cursor, in sequence order: entries (hash,
category, labels; never media, notes or internal references) and withdrawals, signed with the
node key. The cursor is the bank's change sequence (``bank_entries.seq``), so a subscriber that
keeps the last ``next`` it applied resumes exactly there. Every page served is an audit event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, select, type_coerce
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.accounts.models import ApiKeyRow
from ohsc.banks.service import BankService
from ohsc.errors import (
    AmbiguousReferenceError,
    ApiKeyNotFoundError,
    FeedNotFoundError,
    InvalidInputError,
)
from ohsc.exchanges.model import Verdict
from ohsc.exchanges.signing import node_key, public_key_b64, sign_page, signed_page_bytes
from ohsc.exchanges.tables import FeedFeedbackRow, FeedGrantRow
from ohsc.settings import Settings
from ohsc.signals import get_signal_type
from ohsc.store.db import Store
from ohsc.store.models import BankRow, EntryRow
from ohsc.store.types import ascii_int, utcnow


@dataclass(frozen=True, slots=True)
class Grant:
    bank: str
    api_key: str
    api_key_prefix: str
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "api_key": self.api_key,
            "api_key_prefix": self.api_key_prefix,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


def _key_row(s: Session, ref: str) -> ApiKeyRow:
    rows: list[ApiKeyRow] = []
    if (number := ascii_int(ref)) is not None and (row := s.get(ApiKeyRow, number)) is not None:
        rows = [row]
    rows = rows or list(s.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == ref)))
    rows = rows or list(s.scalars(select(ApiKeyRow).where(ApiKeyRow.name == ref)))
    rows = [r for r in rows if r.revoked_at is None]
    if not rows:
        raise ApiKeyNotFoundError(f"no API key {ref!r} (give its name, prefix or id)")
    if len(rows) > 1:
        raise AmbiguousReferenceError(f"several API keys are named {ref!r}: give the prefix or id")
    return rows[0]


@dataclass(frozen=True, slots=True)
class EntryFeedback:
    """What partners said about one entry of a published bank."""

    entry_id: int
    signal_type: str
    value: str
    confirmed: int
    disputed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "signal_type": self.signal_type,
            "value": self.value,
            "confirmed": self.confirmed,
            "disputed": self.disputed,
        }


class FeedService:
    """Publish banks to partners and serve their signed pages."""

    def __init__(self, store: Store, settings: Settings, actor: str = "cli") -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.banks = BankService(store, settings, actor=actor)

    def public_key(self) -> str:
        return public_key_b64(node_key(self.settings).public_key())

    # --- partners ----------------------------------------------------------------------------

    def publish(self, bank: str, api_key: str) -> Grant:
        """Let the partner holding ``api_key`` (name, prefix or id) read ``bank``'s feed."""
        with self.store.session() as s:
            bank_row = self.banks._get_row(s, bank)
            key = _key_row(s, api_key)
            if "feed" not in (key.scopes or []):
                raise InvalidInputError(
                    f"API key {key.name!r} lacks the feed scope (ohsc apikey create NAME --scope feed)"
                )
            grant = s.scalar(
                select(FeedGrantRow).where(
                    FeedGrantRow.bank_id == bank_row.id, FeedGrantRow.api_key_id == key.id
                )
            )
            if grant is None:
                grant = FeedGrantRow(bank_id=bank_row.id, api_key_id=key.id, created_by=self.actor)
                s.add(grant)
                s.flush()
                audit.record(
                    s,
                    actor=self.actor,
                    action="feed.publish",
                    object_type="bank",
                    object_id=bank_row.id,
                    details={"bank": bank_row.name, "api_key": key.prefix},
                )
            return Grant(bank_row.name, key.name, key.prefix, grant.created_by, grant.created_at)

    def unpublish(self, bank: str, api_key: str) -> None:
        with self.store.session() as s:
            bank_row = self.banks._get_row(s, bank)
            key = _key_row(s, api_key)
            grant = s.scalar(
                select(FeedGrantRow).where(
                    FeedGrantRow.bank_id == bank_row.id, FeedGrantRow.api_key_id == key.id
                )
            )
            if grant is None:
                raise FeedNotFoundError(f"bank {bank_row.name!r} is not published to {key.name!r}")
            s.delete(grant)
            audit.record(
                s,
                actor=self.actor,
                action="feed.unpublish",
                object_type="bank",
                object_id=bank_row.id,
                details={"bank": bank_row.name, "api_key": key.prefix},
            )

    def grants(self) -> list[Grant]:
        with self.store.session() as s:
            rows = s.execute(
                select(FeedGrantRow, BankRow.name, ApiKeyRow.name, ApiKeyRow.prefix)
                .join(BankRow, BankRow.id == FeedGrantRow.bank_id)
                .join(ApiKeyRow, ApiKeyRow.id == FeedGrantRow.api_key_id)
                .order_by(BankRow.name, ApiKeyRow.name)
            )
            return [Grant(b, k, p, g.created_by, g.created_at) for g, b, k, p in rows]

    def _granted_bank(self, s: Session, bank: str, key_id: int) -> BankRow:
        row = s.scalar(select(BankRow).where(BankRow.name == bank))
        granted = row is not None and s.scalar(
            select(FeedGrantRow.id).where(FeedGrantRow.bank_id == row.id, FeedGrantRow.api_key_id == key_id)
        )
        if row is None or not granted:
            raise FeedNotFoundError(f"no feed {bank!r} is published to this API key")
        return row

    # --- pages -------------------------------------------------------------------------------

    def page(self, bank: str, key_id: int, *, after: int = 0, limit: int | None = None) -> dict[str, Any]:
        """The signed page of ``bank``'s changes after cursor ``after`` (for API key ``key_id``)."""
        return sign_page(node_key(self.settings), self._unsigned_page(bank, key_id, after, limit))

    def page_json(self, bank: str, key_id: int, *, after: int = 0, limit: int | None = None) -> bytes:
        """:meth:`page` as the bytes served: its canonical JSON, signed, encoded once."""
        return signed_page_bytes(node_key(self.settings), self._unsigned_page(bank, key_id, after, limit))

    def _unsigned_page(self, bank: str, key_id: int, after: int, limit: int | None) -> dict[str, Any]:
        if after < 0:
            raise InvalidInputError("after must be a cursor a previous page returned (0 to start)")
        size = min(limit or self.settings.feed_page_size, self.settings.feed_page_size)
        with self.store.session() as s:
            bank_row = self._granted_bank(s, bank, key_id)
            # plain columns, not ORM objects: a page is thousands of rows, read once
            rows = list(
                s.execute(
                    select(*_PAGE_COLUMNS)
                    .where(EntryRow.bank_id == bank_row.id, EntryRow.seq > after)
                    .order_by(EntryRow.seq)
                    .limit(size + 1)
                )
            )
            more = len(rows) > size
            rows = rows[:size]
            items = _items(s, rows)
            next_cursor = rows[-1].seq if rows else after
            audit.record(
                s,
                actor=self.actor,
                action="feed.page.serve",
                object_type="bank",
                object_id=bank_row.id,
                details={"bank": bank_row.name, "after": after, "next": next_cursor, "items": len(items)},
            )
        return {
            "bank": bank,
            "after": after,
            "next": next_cursor,
            "more": more,
            "issued_at": utcnow().isoformat(),
            "items": items,
        }

    # --- feedback ----------------------------------------------------------------------------

    def record_feedback(self, bank: str, key_id: int, items: Sequence[tuple[str, Verdict]]) -> int:
        """A partner's verdicts on entries of a feed it reads (entry ids as the pages gave them)."""
        with self.store.session() as s:
            bank_row = self._granted_bank(s, bank, key_id)
            ids = {}
            for ref, verdict in items:
                number = ascii_int(ref)
                if number is None:
                    raise InvalidInputError(f"feedback names entry {ref!r}: use the id a feed page gave")
                ids[number] = verdict
            known = set(
                s.scalars(
                    select(EntryRow.id).where(EntryRow.bank_id == bank_row.id, EntryRow.id.in_(list(ids)))
                )
            )
            for entry_id in known:
                s.add(
                    FeedFeedbackRow(
                        bank_id=bank_row.id, entry_id=entry_id, api_key_id=key_id, verdict=ids[entry_id]
                    )
                )
            counts: dict[str, int] = {}
            for entry_id in known:
                counts[ids[entry_id]] = counts.get(ids[entry_id], 0) + 1
            audit.record(
                s,
                actor=self.actor,
                action="feed.feedback",
                object_type="bank",
                object_id=bank_row.id,
                details={"bank": bank_row.name, **counts, "unknown": len(ids) - len(known)},
            )
            return len(known)

    def feedback(self, bank: str) -> list[EntryFeedback]:
        """The entries of ``bank`` partners gave feedback on, the most disputed first (the list
        owner's view: ``ohsc feed feedback BANK``)."""
        counts = self.feedback_counts(bank)
        if not counts:
            return []
        with self.store.session() as s:
            rows = {
                entry_id: (st, value)
                for entry_id, st, value in s.execute(
                    select(EntryRow.id, EntryRow.signal_type, EntryRow.value).where(
                        EntryRow.id.in_(list(counts))
                    )
                )
            }
        out = [
            EntryFeedback(entry_id, *rows[entry_id], c.get("confirmed", 0), c.get("disputed", 0))
            for entry_id, c in counts.items()
            if entry_id in rows
        ]
        return sorted(out, key=lambda f: (-f.disputed, -f.confirmed, f.entry_id))

    def feedback_counts(self, bank: str) -> dict[int, dict[str, int]]:
        """Entry id -> verdict -> how many partners said so (the list owner's view)."""
        with self.store.session() as s:
            bank_row = self.banks._get_row(s, bank)
            out: dict[int, dict[str, int]] = {}
            for entry_id, verdict in s.execute(
                select(FeedFeedbackRow.entry_id, FeedFeedbackRow.verdict).where(
                    FeedFeedbackRow.bank_id == bank_row.id
                )
            ):
                out.setdefault(entry_id, {}).setdefault(verdict, 0)
                out[entry_id][verdict] += 1
            return out


#: what a page reads of an entry (``withdrawn``: retracted, without converting the timestamp)
_PAGE_COLUMNS = (
    EntryRow.id,
    EntryRow.seq,
    EntryRow.signal_type,
    EntryRow.value,
    EntryRow.category,
    type_coerce(EntryRow.labels, Text).label(
        "labels"
    ),  # SQLite: the JSON text, decoded once per distinct value
    EntryRow.retracted_at.is_not(None).label("withdrawn"),
)


class _Labels:
    """Labels as read for a page: JSON text (SQLite) decoded once per distinct text, or the list
    the driver decoded (PostgreSQL). Items share the decoded list: a page is only encoded."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = {}

    def __call__(self, raw: Any) -> list[str]:
        if raw is None:
            return []
        if not isinstance(raw, str):
            return list(raw)
        labels = self.seen.get(raw)
        if labels is None:
            labels = self.seen[raw] = [str(x) for x in json.loads(raw) or ()]
        return labels


def _items(s: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """What leaves the node for each row: the hash, category and labels, or a withdrawal."""
    refs: dict[str, list[str]] = {}
    payload: dict[str, bool] = {}  # signal type name -> values are references to payloads
    for row in rows:
        if row.withdrawn:
            continue
        has = payload.get(row.signal_type)
        if has is None:
            has = payload[row.signal_type] = get_signal_type(row.signal_type).has_payload
        if has:
            refs.setdefault(row.signal_type, []).append(row.value)
    full: dict[tuple[str, str], str] = {}
    for st_name, values in refs.items():
        loaded = get_signal_type(st_name).load_payloads(s, values)
        full.update({(st_name, ref): value for ref, value in loaded.items()})
    items: list[dict[str, Any]] = []
    labels_of = _Labels()
    for entry_id, seq, signal_type, value, category, labels, withdrawn in rows:
        if withdrawn:
            items.append({"seq": seq, "id": str(entry_id), "withdrawn": True})
            continue
        items.append(
            {
                "seq": seq,
                "id": str(entry_id),
                "signal_type": signal_type,
                "value": full.get((signal_type, value), value) if full else value,
                "category": category,
                "labels": labels_of(labels),
                "withdrawn": False,
            }
        )
    return items
