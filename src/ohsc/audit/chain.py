"""The chain: append an event, and check every event against its predecessor, its key and the counter.

Each event's ``hash`` is HMAC-SHA256, under the audit key named by its ``key_id``, of its own
canonical JSON (which includes the previous event's hash and the key id). Events are numbered
without gaps by the ``audit_seq`` counter, taken in the same transaction (a rolled-back change
leaves no hole), so the counter survives the deletion of events and the log must reach it.
Events written before the chain was keyed (``key_id`` NULL) are SHA-256 of the same JSON without
the key id, and are accepted only up to the sealed end of that unkeyed beginning
(:mod:`ohsc.store.audit_keys`). Details carry identifiers and hashes, never content.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc.store.audit_keys import AuditKeyring, unkeyed_beginning
from ohsc.store.db import AUDITED_INFO, audit_events_in, audit_keyring_of, current_seq, next_seq
from ohsc.store.models import AuditEvent
from ohsc.store.types import utcnow

GENESIS = "0" * 64


def canonical(event: AuditEvent) -> bytes:
    """The bytes an event's hash covers (unkeyed events: exactly as before keying)."""
    body: dict[str, Any] = {
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    if event.key_id is not None:
        body["key_id"] = event.key_id
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(event: AuditEvent, keyring: AuditKeyring | None = None) -> str | None:
    """The hash ``event`` should carry; None for a keyed event whose key is not in ``keyring``."""
    if event.key_id is None:
        return hashlib.sha256(canonical(event)).hexdigest()
    return None if keyring is None else keyring.mac(event.key_id, canonical(event))


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append (:func:`record_many`): who did what to which object; details carry
    identifiers and hashes, never content."""

    actor: str
    action: str
    object_type: str
    object_id: str | int | None = None
    details: dict[str, Any] | None = None


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction, keyed with the store's current audit key."""
    return record_many(session, [NewEvent(actor, action, object_type, object_id, details)])[0]


def record_many(session: Session, events: Sequence[NewEvent]) -> list[AuditEvent]:
    """Append ``events``, in order, in the caller's transaction: the same chain as recording them
    one by one (consecutive numbers, each hashing its predecessor), with the counter taken, the
    previous hash read and the rows inserted once for all of them."""
    if not events:
        return []
    keyring = audit_keyring_of(session)
    last = next_seq(session, "audit_seq", len(events))
    first = last - len(events) + 1
    prev = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == first - 1)).scalar_one_or_none()
    prev = prev or GENESIS
    at = utcnow()
    rows: list[AuditEvent] = []
    for n, e in enumerate(events):
        event = AuditEvent(
            seq=first + n,
            at=at,
            actor=e.actor,
            action=e.action,
            object_type=e.object_type,
            object_id=None if e.object_id is None else str(e.object_id),
            details=json.loads(json.dumps(e.details or {}, default=str)),
            prev_hash=prev,
            key_id=keyring.current_id,
        )
        event.hash = prev = compute_hash(event, keyring) or ""
        rows.append(event)
    session.add_all(rows)
    session.flush()
    session.info[AUDITED_INFO] = audit_events_in(session) + len(rows)
    return rows


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        if self.seq <= 0:
            return self.problem
        return f"event #{self.seq} (id {self.event_id}): {self.problem}"


@dataclass(slots=True)
class VerifyResult:
    events: int
    problems: list[ChainProblem]
    #: the last event: its number and hash (0 and GENESIS for an empty log)
    head_seq: int = 0
    head_hash: str = GENESIS
    #: events #1..#unkeyed_until were written before the chain was keyed (old rule)
    unkeyed_until: int = 0
    key_ids: list[str] = field(default_factory=list)
    #: what was checked besides the chain (checkpoints), one line each
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One paragraph for people: what was verified, and how."""
        text = f"{self.events} events"
        if self.unkeyed_until:
            text += (
                f"; #1–#{self.unkeyed_until} were written before the audit key existed and are "
                "verified under the old unkeyed rule (SHA-256 chain)"
            )
        if self.key_ids:
            text += f"; keyed events verified with key(s) {', '.join(self.key_ids)}"
        return text


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


class _Walk:
    """State of one walk along the chain."""

    def __init__(self, keyring: AuditKeyring, unkeyed_until: int, wanted: set[int]) -> None:
        self.keyring = keyring
        self.unkeyed_until = unkeyed_until
        self.wanted = wanted
        self.found: dict[int, str] = {}
        self.problems: list[ChainProblem] = []
        self.count = 0
        self.expected_seq = 1
        self.prev_hash = GENESIS
        self.key_ids: list[str] = []

    def add(self, seq: int, event_id: int | None, problem: str) -> None:
        self.problems.append(ChainProblem(seq, event_id, problem))

    def step(self, event: AuditEvent) -> None:
        self.count += 1
        if event.seq != self.expected_seq:
            self.add(
                self.expected_seq,
                None,
                f"missing: the log jumps from #{self.expected_seq - 1} to #{event.seq}",
            )
        if event.prev_hash != self.prev_hash:
            self.add(event.seq, event.id, "link broken: previous-hash does not match (removed or reordered)")
        self._check_hash(event)
        if event.seq in self.wanted:
            self.found[event.seq] = event.hash
        self.prev_hash = event.hash
        self.expected_seq = event.seq + 1

    def _check_hash(self, event: AuditEvent) -> None:
        if event.key_id is None and event.seq > self.unkeyed_until:
            self.add(
                event.seq,
                event.id,
                f"not keyed: written or rewritten without the audit key ({event.action}); only "
                f"events up to #{self.unkeyed_until} predate the key",
            )
            return
        if event.key_id is not None and event.key_id not in self.key_ids:
            self.key_ids.append(event.key_id)
        expected = compute_hash(event, self.keyring)
        if expected is None:
            self.add(
                event.seq,
                event.id,
                f"keyed with key {event.key_id}, which is not in the audit key ring ({self.keyring.source})",
            )
        elif not hmac.compare_digest(expected, event.hash):
            self.add(event.seq, event.id, f"changed: content does not match its hash ({event.action})")


def walk(session: Session, wanted: set[int] | None = None) -> tuple[VerifyResult, dict[int, str]]:
    """Verify the chain; also return the hashes found at the event numbers in ``wanted``."""
    keyring = audit_keyring_of(session)
    written_before = current_seq(session, "audit_seq")
    beginning = unkeyed_beginning(session, keyring)
    state = _Walk(keyring, beginning.until, wanted or set())
    if beginning.problem:
        state.add(0, None, beginning.problem)
    for event in _iter_events(session):
        state.step(event)
    head = state.expected_seq - 1
    if written_before > head:
        state.add(
            head + 1,
            None,
            f"missing: the log ends at #{head} but the event counter says {written_before} events were "
            f"written (the last {written_before - head} were removed)",
        )
    written_after = current_seq(session, "audit_seq")
    if written_after < head:
        state.add(0, None, f"the event counter ({written_after}) is behind the log (#{head}): it was changed")
    result = VerifyResult(
        events=state.count,
        problems=state.problems,
        head_seq=head,
        head_hash=state.prev_hash,
        unkeyed_until=beginning.until,
        key_ids=state.key_ids,
    )
    return result, state.found


def verify(session: Session) -> VerifyResult:
    """Check the whole chain: numbering, links, keyed hashes, the counter and the unkeyed beginning."""
    return walk(session)[0]
