"""The audit log: every decision and change as an append-only, hash-chained event.

Each event's ``hash`` is SHA-256 over its own canonical JSON and the previous event's hash, and
events are numbered without gaps by the ``audit_seq`` counter (taken in the same transaction, so
a rolled-back change leaves no hole). :func:`verify` walks the chain and names the first event
that was changed, removed or moved. Details carry identifiers and hashes, never content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc.store.db import next_seq
from ohsc.store.models import AuditEvent
from ohsc.store.types import utcnow

GENESIS = "0" * 64


def _canonical(event: AuditEvent) -> bytes:
    body = {
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction."""
    seq = next_seq(session, "audit_seq")
    prev = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1)).scalar_one_or_none()
    event = AuditEvent(
        seq=seq,
        at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=json.loads(json.dumps(details or {}, default=str)),
        prev_hash=prev or GENESIS,
    )
    event.hash = compute_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        return f"event #{self.seq} (id {self.event_id}): {self.problem}"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    events: int
    problems: list[ChainProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


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


def verify(session: Session) -> VerifyResult:
    """Check the whole chain: numbering, links and hashes."""
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev_hash = GENESIS
    count = 0
    for event in _iter_events(session):
        count += 1
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(
                    expected_seq, None, f"missing: the log jumps from #{expected_seq - 1} to #{event.seq}"
                )
            )
        if event.prev_hash != prev_hash:
            problems.append(
                ChainProblem(
                    event.seq, event.id, "link broken: previous-hash does not match (removed or reordered)"
                )
            )
        if compute_hash(event) != event.hash:
            problems.append(
                ChainProblem(
                    event.seq, event.id, f"changed: content does not match its hash ({event.action})"
                )
            )
        prev_hash = event.hash
        expected_seq = event.seq + 1
    return VerifyResult(count, problems)
