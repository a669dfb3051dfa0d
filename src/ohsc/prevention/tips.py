"""Anonymous tips about published objects, and the investigators' inbox.

Spam defence without a third-party CAPTCHA, and without keeping who sent what:

* **Signed, single-use form tokens** (:meth:`TipService.challenge`): HMAC over the object, the
  time the form was shown and a random nonce. A tip needs a valid token that is at least
  ``OHSC_TRACE_TIP_MIN_SECONDS`` old (bots post at once) and at most
  ``OHSC_TRACE_TIP_TOKEN_TTL_SECONDS``; each token sends one tip.
* **Proof of work**: the browser finds a number whose SHA-256 with the token starts with
  ``OHSC_TRACE_POW_BITS`` zero bits (well under a second for a person, costly in bulk).
* **Honeypot**: a form field people never see; a tip that fills it is discarded silently.
* **Rate limits per client address**, counted under a keyed hash (HMAC-SHA256) whose salt is
  random per UTC day and deleted when the day is over, so counts cannot be linked to an address
  afterwards. IPv6 addresses count per /64 network. The address itself is never stored.

The tip text is stored as written (plain text; pages escape it when they show it) and leaves
the system only through the CSV export, whose cells are protected against formula injection.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TextIO

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.actor import ROLE_INVESTIGATOR, Actor, require
from ohsc.errors import ChallengeError, InvalidInputError, RateLimitedError, StateError, TipNotFoundError
from ohsc.media.blobs import load_or_create_key
from ohsc.prevention.counters import CounterBuffer
from ohsc.prevention.messages import normalise_locale
from ohsc.prevention.models import (
    TraceObjectRow,
    TraceRateBucketRow,
    TraceRateSaltRow,
    TraceTipRow,
    TraceUsedTokenRow,
)
from ohsc.prevention.tip_checks import clean_tip_text as clean_tip_text
from ohsc.prevention.tip_checks import client_network as client_network
from ohsc.prevention.tip_checks import csv_safe as csv_safe
from ohsc.prevention.tip_checks import pow_ok as pow_ok
from ohsc.prevention.tip_checks import solve_pow as solve_pow
from ohsc.prevention.trace import ObjectStatus
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow

_TOKEN = re.compile(r"^([0-9a-f]{16})\.([0-9]{1,12})\.([0-9a-f]{16})\.([0-9a-f]{32})$")
_TAG = re.compile(r"^[\w][\w .:/-]{0,39}$")
MAX_TAGS = 20
CSV_COLUMNS = (
    "tip_id",
    "object_id",
    "object_public_id",
    "object_category",
    "received_at",
    "status",
    "tags",
    "locale",
    "triaged_by",
    "triaged_at",
    "note",
    "tip",
)


class TipStatus(StrEnum):
    """Storage keys: never rename."""

    NEW = "new"
    USEFUL = "useful"
    NOT_USEFUL = "not_useful"
    DUPLICATE = "duplicate"
    SPAM = "spam"


@dataclass(frozen=True, slots=True)
class TipChallenge:
    """What the tip form carries: the token and how hard the proof of work is."""

    token: str
    pow_bits: int
    min_seconds: float
    expires_in: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "pow_bits": self.pow_bits,
            "min_seconds": self.min_seconds,
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True, slots=True)
class TipReceipt:
    """The answer to a submission. ``stored`` is false for silently discarded spam: show the
    same thanks either way, so bots learn nothing."""

    stored: bool


@dataclass(frozen=True, slots=True)
class Tip:
    id: int
    object_id: int
    object_public_id: str
    object_category: str
    body: str
    locale: str
    status: str
    tags: tuple[str, ...]
    note: str
    received_at: datetime
    triaged_by: str | None
    triaged_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object_id": self.object_id,
            "object_public_id": self.object_public_id,
            "object_category": self.object_category,
            "body": self.body,
            "locale": self.locale,
            "status": self.status,
            "tags": list(self.tags),
            "note": self.note,
            "received_at": self.received_at.isoformat(),
            "triaged_by": self.triaged_by,
            "triaged_at": self.triaged_at.isoformat() if self.triaged_at else None,
        }


def _to_tip(row: TraceTipRow, obj: TraceObjectRow) -> Tip:
    return Tip(
        id=row.id,
        object_id=row.object_id,
        object_public_id=obj.public_id,
        object_category=obj.category,
        body=row.body,
        locale=row.locale,
        status=row.status,
        tags=tuple(row.tags or ()),
        note=row.note,
        received_at=row.received_at,
        triaged_by=row.triaged_by,
        triaged_at=row.triaged_at,
    )


def _upsert_bucket(s: Session, key: str, window: str, start: datetime) -> int:
    table = TraceRateBucketRow.__table__
    assert isinstance(table, Table)
    values = {"key": key, "window": window, "window_start": start, "count": 1}
    elements = ["key", "window_start", "window"]
    if s.get_bind().dialect.name == "postgresql":
        pg = pg_insert(table).values(**values)
        s.execute(pg.on_conflict_do_update(index_elements=elements, set_={"count": table.c.count + 1}))
    else:
        lite = sqlite_insert(table).values(**values)
        s.execute(lite.on_conflict_do_update(index_elements=elements, set_={"count": table.c.count + 1}))
    count = s.scalar(
        select(TraceRateBucketRow.count).where(
            TraceRateBucketRow.key == key,
            TraceRateBucketRow.window == window,
            TraceRateBucketRow.window_start == start,
        )
    )
    return int(count or 0)


class TipService:
    """The public tip form's back end and the investigators' inbox."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        counters: CounterBuffer | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.counters = counters
        self._now: Callable[[], datetime] = clock or utcnow
        content_key = load_or_create_key(settings.content_key, settings.home / "content.key")
        self._token_key = hmac.new(content_key, b"ohsc/trace/tip-token/v1", hashlib.sha256).digest()

    # --- the form ----------------------------------------------------------------------------

    def _sign(self, body: str) -> str:
        return hmac.new(self._token_key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def challenge(self, public_id: str) -> TipChallenge:
        """A fresh token for the tip form of one object."""
        if not re.fullmatch(r"[0-9a-f]{16}", public_id or ""):
            raise InvalidInputError("unknown object")
        issued = int(self._now().timestamp())
        body = f"{public_id}.{issued}.{secrets.token_hex(8)}"
        return TipChallenge(
            token=f"{body}.{self._sign(body)}",
            pow_bits=self.settings.trace_pow_bits,
            min_seconds=self.settings.trace_tip_min_seconds,
            expires_in=self.settings.trace_tip_token_ttl_seconds,
        )

    def _verify_token(self, public_id: str, token: str, pow_nonce: str, now: datetime) -> datetime:
        m = _TOKEN.match(token or "")
        if m is None:
            raise ChallengeError("the form is not valid; please load the page again")
        token_object, issued_s, _nonce, sig = m.groups()
        body = token.rsplit(".", 1)[0]
        if not hmac.compare_digest(sig, self._sign(body)) or token_object != public_id:
            raise ChallengeError("the form is not valid; please load the page again")
        issued = datetime.fromtimestamp(int(issued_s), UTC)
        age = (now - issued).total_seconds()
        if age > self.settings.trace_tip_token_ttl_seconds:
            raise ChallengeError("the form has expired; please send it again")
        if age < self.settings.trace_tip_min_seconds:
            raise ChallengeError("the form was sent too quickly; please wait a moment and send it again")
        if not pow_ok(token, pow_nonce, self.settings.trace_pow_bits):
            raise ChallengeError("the form's check did not complete; please send it again")
        return issued + timedelta(seconds=self.settings.trace_tip_token_ttl_seconds)

    def _salt(self, day: datetime) -> str:
        d = day.date()
        with self.store.session() as s:
            row = s.get(TraceRateSaltRow, d)
            if row is not None:
                return row.salt
        try:
            with self.store.session() as s:
                s.execute(delete(TraceRateSaltRow).where(TraceRateSaltRow.day < d))
                s.add(TraceRateSaltRow(day=d, salt=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another process made today's salt first
        with self.store.session() as s:
            row = s.get(TraceRateSaltRow, d)
            assert row is not None
            return row.salt

    def _count(self, metric: str) -> None:
        if self.counters is not None:
            self.counters.add(metric)

    def submit(
        self,
        public_id: str,
        text: str,
        *,
        token: str,
        pow_nonce: str = "",
        honeypot: str = "",
        client_address: str | None = None,
        locale: str | None = None,
    ) -> TipReceipt:
        """Take an anonymous tip. Raises :class:`ChallengeError` (bad, early, expired or used
        form), :class:`RateLimitedError`, :class:`InvalidInputError` (empty or too long) or
        :class:`StateError` (the object takes no tips); returns a receipt otherwise."""
        now = self._now()
        expires = self._verify_token(public_id, token, pow_nonce, now)
        body = clean_tip_text(text, self.settings.trace_tip_max_chars)
        tag = normalise_locale(locale) or ""
        salt = self._salt(now)
        key = hmac.new(
            bytes.fromhex(salt), client_network(client_address).encode(), hashlib.sha256
        ).hexdigest()
        hour = now.replace(minute=0, second=0, microsecond=0)
        day = hour.replace(hour=0)
        digest = hashlib.sha256(token.encode()).hexdigest()
        try:
            with self.store.session() as s:
                s.execute(delete(TraceUsedTokenRow).where(TraceUsedTokenRow.expires_at < now))
                s.execute(
                    delete(TraceRateBucketRow).where(
                        TraceRateBucketRow.window_start < day - timedelta(days=1)
                    )
                )
                if s.get(TraceUsedTokenRow, digest) is not None:
                    raise ChallengeError("this form was already sent; please load the page again")
                obj = s.scalar(select(TraceObjectRow).where(TraceObjectRow.public_id == public_id))
                if obj is None or obj.status not in {ObjectStatus.PUBLISHED, ObjectStatus.IDENTIFIED}:
                    raise StateError("this object takes no tips")
                if obj.status != ObjectStatus.PUBLISHED:
                    raise StateError("this object has been identified; thank you, no more tips are needed")
                per_hour = _upsert_bucket(s, key, "hour", hour)
                per_day = _upsert_bucket(s, key, "day", day)
                if per_hour > self.settings.trace_tips_per_hour or per_day > self.settings.trace_tips_per_day:
                    raise RateLimitedError("too many tips from this connection; please try again later")
                s.add(TraceUsedTokenRow(digest=digest, expires_at=expires))
                if honeypot:
                    stored = False
                else:
                    s.add(TraceTipRow(object_id=obj.id, body=body, locale=tag, status=TipStatus.NEW))
                    stored = True
        except RateLimitedError:
            self._count("tips_rate_limited")
            raise
        except IntegrityError:
            raise ChallengeError("this form was already sent; please load the page again") from None
        self._count("tips" if stored else "tips_discarded")
        return TipReceipt(stored=stored)

    # --- the same defences for other public forms (the removal URL report form) -------------

    def verify_form(self, subject: str, token: str, pow_nonce: str) -> datetime:
        """Check a form token made by :meth:`challenge` for ``subject`` (age, signature, proof of
        work); returns when it expires. Raises :class:`ChallengeError`. Single use is the caller's
        to record (:meth:`spend_form`)."""
        return self._verify_token(subject, token, pow_nonce, self._now())

    def spend_form(
        self, s: Session, *, form: str, token: str, expires: datetime, client_address: str | None
    ) -> None:
        """In the caller's transaction: refuse a used token, count the client's submissions of
        ``form`` against the tip limits (per hour and day, keyed with the day's salt), spend the token."""
        now = self._now()
        digest = hashlib.sha256(token.encode()).hexdigest()
        if s.get(TraceUsedTokenRow, digest) is not None:
            raise ChallengeError("this form was already sent; please load the page again")
        salt = self._salt(now)
        key = hmac.new(
            bytes.fromhex(salt), f"{form}:{client_network(client_address)}".encode(), hashlib.sha256
        ).hexdigest()
        hour = now.replace(minute=0, second=0, microsecond=0)
        per_hour = _upsert_bucket(s, key, "hour", hour)
        per_day = _upsert_bucket(s, key, "day", hour.replace(hour=0))
        if per_hour > self.settings.trace_tips_per_hour or per_day > self.settings.trace_tips_per_day:
            raise RateLimitedError("too many reports from this connection; please try again later")
        s.add(TraceUsedTokenRow(digest=digest, expires_at=expires))

    # --- the inbox ---------------------------------------------------------------------------

    def list_tips(
        self,
        actor: Actor,
        *,
        object_id: int | None = None,
        status: str | None = None,
        tag: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Tip]:
        require(actor, ROLE_INVESTIGATOR, action="read tips")
        if status is not None and status not in set(TipStatus):
            raise InvalidInputError(f"status is one of {', '.join(TipStatus)}")
        with self.store.session() as s:
            q = (
                select(TraceTipRow, TraceObjectRow)
                .join(TraceObjectRow, TraceObjectRow.id == TraceTipRow.object_id)
                .order_by(TraceTipRow.id.desc())
            )
            if object_id is not None:
                q = q.where(TraceTipRow.object_id == object_id)
            if status is not None:
                q = q.where(TraceTipRow.status == status)
            if tag is None:
                q = q.limit(max(1, min(limit, 10_000))).offset(max(0, offset))
                return [_to_tip(t, o) for t, o in s.execute(q)]
            tips = [_to_tip(t, o) for t, o in s.execute(q) if tag in (t.tags or ())]
            return tips[max(0, offset) : max(0, offset) + max(1, min(limit, 10_000))]

    def get_tip(self, actor: Actor, tip_id: int) -> Tip:
        require(actor, ROLE_INVESTIGATOR, action="read tips")
        with self.store.session() as s:
            row = s.get(TraceTipRow, tip_id)
            if row is None:
                raise TipNotFoundError(f"no tip {tip_id}")
            obj = s.get(TraceObjectRow, row.object_id)
            assert obj is not None
            return _to_tip(row, obj)

    def triage(
        self,
        actor: Actor,
        tip_id: int,
        *,
        status: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
        note: str | None = None,
    ) -> Tip:
        require(actor, ROLE_INVESTIGATOR, action="triage tips")
        if status is not None and status not in set(TipStatus):
            raise InvalidInputError(f"status is one of {', '.join(TipStatus)}")
        for t in add_tags:
            if not _TAG.match(t):
                raise InvalidInputError("tags are 1-40 letters, digits, spaces or . : / - _")
        if note is not None and len(note) > 4000:
            raise InvalidInputError("the note is longer than 4000 characters")
        with self.store.session() as s:
            row = s.get(TraceTipRow, tip_id)
            if row is None:
                raise TipNotFoundError(f"no tip {tip_id}")
            tags = [t for t in (row.tags or []) if t not in set(remove_tags)]
            tags += [t for t in add_tags if t not in tags]
            if len(tags) > MAX_TAGS:
                raise InvalidInputError(f"a tip has at most {MAX_TAGS} tags")
            changed = []
            if status is not None and status != row.status:
                row.status = status
                changed.append("status")
            if tags != list(row.tags or []):
                row.tags = tags
                changed.append("tags")
            if note is not None and note.strip() != row.note:
                row.note = note.strip()
                changed.append("note")
            if changed:
                row.triaged_by, row.triaged_at = actor.name, utcnow()
                audit.record(
                    s,
                    actor=actor.name,
                    action="trace_tip.triage",
                    object_type="trace_tip",
                    object_id=row.id,
                    details={"fields": changed, "status": row.status, "object_id": row.object_id},
                )
            obj = s.get(TraceObjectRow, row.object_id)
            assert obj is not None
            return _to_tip(row, obj)

    def export_csv(
        self, actor: Actor, out: TextIO, *, object_id: int | None = None, status: str | None = None
    ) -> int:
        """Write tips as CSV (one row per tip, cells safe to open in a spreadsheet)."""
        require(actor, ROLE_INVESTIGATOR, action="export tips")
        tips = self.list_tips(actor, object_id=object_id, status=status, limit=10_000_000)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for t in reversed(tips):
            writer.writerow(
                [
                    csv_safe(v)
                    for v in (
                        t.id,
                        t.object_id,
                        t.object_public_id,
                        t.object_category,
                        t.received_at.isoformat(),
                        t.status,
                        "; ".join(t.tags),
                        t.locale,
                        t.triaged_by or "",
                        t.triaged_at.isoformat() if t.triaged_at else "",
                        t.note,
                        t.body,
                    )
                ]
            )
        with self.store.session() as s:
            audit.record(
                s,
                actor=actor.name,
                action="trace_tip.export",
                object_type="trace_tip",
                details={"rows": len(tips), "object_id": object_id, "status": status},
            )
        return len(tips)
