"""The audit chain names changed, removed and reordered events, a log cut back at its end, a log
rewritten and re-hashed without the key, and a log that no longer matches a signed checkpoint."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import delete, func, insert, select, update

from ohsc import audit
from ohsc.audit.checkpoint import parse_public_key
from ohsc.errors import AuditChainError, InvalidInputError
from ohsc.store.audit_keys import SEAL_KEY, AuditKeyring
from ohsc.store.db import Store, next_seq
from ohsc.store.migrate import downgrade
from ohsc.store.models import AuditEvent, Counter, MetaValue
from ohsc.store.types import utcnow
from tests.failures import refused


def _fill(store: Store, n: int = 5) -> None:
    for i in range(n):
        with store.session() as s:
            audit.record(
                s, actor="tester", action="test.event", object_type="thing", object_id=i, details={"i": i}
            )


def test_an_untouched_log_verifies(store: Store) -> None:
    _fill(store)
    with store.session() as s:
        result = audit.verify(s)
    assert result.ok and result.events == 5


def test_events_recorded_together_chain_like_events_recorded_one_by_one(store: Store) -> None:
    """record_many: consecutive numbers after what is there, each event hashing the one before;
    the log verifies, a change to one of them is named, nothing is written for no events."""
    _fill(store, 2)
    with store.session() as s:
        assert audit.record_many(s, []) == []
        rows = audit.record_many(
            s, [audit.NewEvent("tester", "test.many", "thing", i, {"i": i}) for i in range(3)]
        )
        assert audit.record(s, actor="tester", action="test.event", object_type="thing").seq == 6
        assert [r.seq for r in rows] == [3, 4, 5]
    with store.session() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [(e.seq, e.object_id, e.details) for e in events[2:5]] == [
            (3, "0", {"i": 0}),
            (4, "1", {"i": 1}),
            (5, "2", {"i": 2}),
        ]
        assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
        result = audit.verify(s)
    assert result.ok and result.events == 6
    with store.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(details={"i": 99}))
    with store.session() as s:
        assert [p.seq for p in audit.verify(s).problems] == [4]


def test_a_changed_event_is_named(store: Store) -> None:
    _fill(store)
    with store.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(details={"i": 99}))
    with store.session() as s:
        result = audit.verify(s)
    assert [(p.seq, p.problem.split(":")[0]) for p in result.problems] == [(3, "changed")]


def test_a_removed_event_is_named(store: Store) -> None:
    _fill(store)
    with store.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    with store.session() as s:
        problems = audit.verify(s).problems
    assert problems[0].seq == 2 and "missing" in problems[0].problem
    assert any(p.seq == 3 and "link broken" in p.problem for p in problems)


def test_reordered_events_are_named(store: Store) -> None:
    _fill(store)
    with store.session() as s:
        rows = {e.seq: e for e in s.scalars(select(AuditEvent).where(AuditEvent.seq.in_([2, 4])))}
        rows[2].seq, rows[4].seq = -2, -4
        s.flush()
        rows[2].seq, rows[4].seq = 4, 2
    with store.session() as s:
        problems = audit.verify(s).problems
    assert {p.seq for p in problems} >= {2, 4}


def test_a_rolled_back_change_leaves_no_gap(store: Store) -> None:
    _fill(store, 2)
    try:
        with store.session() as s:
            audit.record(s, actor="t", action="doomed", object_type="x")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    _fill(store, 1)
    with store.session() as s:
        result = audit.verify(s)
    assert result.ok and result.events == 3


# --- truncation, rewriting, keys, checkpoints (issue 10 item 6) ----------------------------------


def _problems(store: Store, **kwargs: object) -> list[str]:
    with store.session() as s:
        return [str(p) for p in audit.verify(s).problems]


def test_removing_the_last_events_is_named(store: Store) -> None:
    _fill(store)
    with store.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    problems = _problems(store)
    assert problems, "a log cut back at its end must not verify"
    assert any("ends at #3" in p and "5 events were written" in p for p in problems), problems


def _rewrite(
    store: Store, seq: int, hasher: Callable[[AuditEvent], str | None], key_id: str | None, upto: int = 10**9
) -> None:
    """What someone with write access to the database does: change an event, re-hash every later one."""
    with store.session() as s:
        q = select(AuditEvent).where(AuditEvent.seq >= seq - 1, AuditEvent.seq <= upto)
        events = list(s.scalars(q.order_by(AuditEvent.seq)))
        prev = events[0].hash if seq > 1 else audit.GENESIS
        for event in events[1:] if seq > 1 else events:
            if event.seq == seq:
                event.details = {"i": 99}
            event.prev_hash = prev
            event.key_id = key_id
            event.hash = hasher(event) or ""
            prev = event.hash
        s.flush()


def test_a_rewritten_and_rehashed_log_is_caught_without_the_key(store: Store) -> None:
    _fill(store)
    # the old, unkeyed rule: SHA-256 over the canonical JSON
    _rewrite(store, 3, lambda e: hashlib.sha256(audit.canonical(e)).hexdigest(), None)
    problems = _problems(store)
    assert any(p.startswith("event #3") and "not keyed" in p for p in problems), problems


def test_a_log_rehashed_with_a_guessed_key_is_caught(store: Store) -> None:
    _fill(store)
    guessed = AuditKeyring(b"\x01" * 32)
    with store.session() as s:
        real_id = s.scalars(select(AuditEvent.key_id)).first()
    assert real_id is not None
    _rewrite(store, 2, lambda e: guessed.mac(guessed.current_id, audit.canonical(e)), real_id)
    assert any(p.startswith("event #2") and "changed" in p for p in _problems(store))
    _rewrite(store, 2, lambda e: guessed.mac(guessed.current_id, audit.canonical(e)), guessed.current_id)
    assert any("not in the audit key ring" in p for p in _problems(store))


def test_events_are_keyed(store: Store) -> None:
    _fill(store, 2)
    with store.session() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert {e.key_id for e in events} == {store.audit_keyring.current_id}
    for e in events:  # HMAC-SHA256 of the canonical JSON, not a plain digest
        assert e.hash == hmac.new(store.audit_keyring.current, audit.canonical(e), hashlib.sha256).hexdigest()
        assert e.hash != hashlib.sha256(audit.canonical(e)).hexdigest()


def test_the_key_file_is_owner_only(store: Store, tmp_path: Path) -> None:
    _fill(store, 1)
    key_file = tmp_path / "ohsc-home" / "audit.key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def _head(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.max(AuditEvent.seq))) or 0)


def test_a_checkpoint_passes_then_catches_truncation(store: Store) -> None:
    _fill(store)
    cp = audit.write_checkpoint(store, "tester")
    assert cp.seq == 6 == _head(store)  # the checkpoint event itself is what it vouches for
    _fill(store, 2)
    result = audit.verify_log(store, "tester", checkpoints=[cp])
    assert result.ok, result.problems
    assert any("#6 matches" in n for n in result.notes)
    # cut the log back below the checkpoint and put the counter back, so the chain alone looks whole
    with store.session() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 5))
        s.execute(update(Counter).where(Counter.name == "audit_seq").values(value=4))
    with store.session() as s:
        assert audit.verify(s).ok  # what a counter alone cannot see
    result = audit.verify_log(store, "tester", checkpoints=[cp])
    assert not result.ok
    assert any("vouches for event #6" in str(p) and "ends at #4" in str(p) for p in result.problems)


def test_a_checkpoint_catches_a_rewrite_by_someone_with_the_audit_key(store: Store) -> None:
    _fill(store)
    cp = audit.write_checkpoint(store, "tester")
    ring = store.audit_keyring
    _rewrite(store, 3, lambda e: ring.mac(ring.current_id, audit.canonical(e)), ring.current_id)
    with store.session() as s:
        assert audit.verify(s).ok  # keyed, linked, counted: only the checkpoint knows
    result = audit.verify_log(store, "tester", checkpoints=[cp])
    assert any("event #6 differs" in str(p) and "rewritten" in str(p) for p in result.problems)


def test_a_changed_or_foreign_checkpoint_fails(store: Store, tmp_path: Path) -> None:
    _fill(store, 2)
    cp = audit.write_checkpoint(store, "tester")
    forged = dataclasses.replace(cp, seq=cp.seq - 1)
    result = audit.verify_log(store, "tester", checkpoints=[forged])
    assert any("signature does not verify" in str(p) for p in result.problems)
    other = dataclasses.replace(cp, signature="").sign(Ed25519PrivateKey.generate())
    result = audit.verify_log(store, "tester", checkpoints=[other])
    assert any("not by the trusted key" in str(p) for p in result.problems)
    # with the other key trusted explicitly, the signature verifies (and the event matches)
    assert audit.verify_log(store, "t", checkpoints=[other], public_key=_pub(other)).ok


def _pub(cp: audit.Checkpoint) -> Ed25519PublicKey:
    return parse_public_key(cp.public_key)


def test_a_checkpoint_file_round_trips(store: Store, tmp_path: Path) -> None:
    _fill(store, 1)
    cp = audit.write_checkpoint(store, "tester")
    path = tmp_path / "cp.json"
    path.write_text(cp.to_json())
    again = audit.Checkpoint.read(path)
    assert audit.verify_log(store, "t", checkpoints=[again]).ok
    path.write_text(cp.to_json().replace(f'"seq": {cp.seq}', f'"seq": {cp.seq + 5}'))
    assert not audit.verify_log(store, "t", checkpoints=[audit.Checkpoint.read(path)]).ok
    path.write_text("{}")
    with pytest.raises(InvalidInputError):
        audit.Checkpoint.read(path)


def test_no_checkpoint_of_a_broken_log(store: Store) -> None:
    _fill(store)
    with store.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(details={"i": 7}))
    with pytest.raises(AuditChainError):
        audit.write_checkpoint(store, "tester")


def _downgrade_to_unkeyed(store: Store) -> None:
    if store._bind is not None:
        downgrade(store._bind, "0006_audit_chain_keys-1")
    else:
        with store.engine.begin() as conn:
            downgrade(conn, "0006_audit_chain_keys-1")


def _write_unkeyed(store: Store, n: int) -> None:
    """Events as the versions before the keyed chain wrote them (no key id, SHA-256)."""
    with store.session() as s:
        for i in range(n):
            seq = next_seq(s, "audit_seq")
            prev = s.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1)).scalar_one_or_none()
            e = AuditEvent(seq=seq, at=utcnow(), actor="old", action="old.event", object_type="thing",
                           object_id=str(i), details={"i": i}, prev_hash=prev or audit.GENESIS)  # fmt: skip
            values = {c: getattr(e, c) for c in ("seq", "at", "actor", "action", "object_type", "object_id",
                                                 "details", "prev_hash")}  # fmt: skip
            values["hash"] = audit.compute_hash(e)
            s.execute(insert(AuditEvent).values(**values))


def test_an_old_unkeyed_log_migrates_and_says_so(store: Store) -> None:
    _downgrade_to_unkeyed(store)
    _write_unkeyed(store, 3)
    store.migrate()
    _fill(store, 2)
    with store.session() as s:
        result = audit.verify(s)
    assert result.ok, result.problems
    assert result.unkeyed_until == 3 and result.events == 5
    assert "#1–#3 were written before the audit key existed" in result.summary()
    # the first keyed event anchors the unkeyed ones: rewriting one and re-hashing them shows
    _rewrite(store, 2, audit.compute_hash, None, upto=3)
    problems = _problems(store)
    assert any(p.startswith("event #4") and "link broken" in p for p in problems), problems


def test_the_unkeyed_beginning_is_sealed(store: Store) -> None:
    _downgrade_to_unkeyed(store)
    _write_unkeyed(store, 2)
    store.migrate()
    _fill(store, 1)
    with store.session() as s:  # claim more of the log as "old": the seal no longer verifies
        raw = json.loads(s.get(MetaValue, SEAL_KEY).value)  # type: ignore[union-attr]
        s.execute(
            update(MetaValue).where(MetaValue.key == SEAL_KEY).values(value=json.dumps({**raw, "until": 3}))
        )
    problems = _problems(store)
    assert any("seal" in p and "changed" in p for p in problems), problems
    with store.session() as s:  # remove the seal: every unkeyed event fails
        s.execute(delete(MetaValue).where(MetaValue.key == SEAL_KEY))
    problems = _problems(store)
    assert any(p.startswith("event #1") and "not keyed" in p for p in problems), problems


def test_a_rotated_key_keeps_older_events_verifiable(store: Store) -> None:
    _fill(store, 2)
    old_id, new_id = audit.rotate_key(store, "tester")
    assert old_id != new_id
    _fill(store, 1)
    with store.session() as s:
        ids = [e.key_id for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert ids == [old_id, old_id, new_id, new_id]
        assert audit.verify(s).ok
    # a verifier that lost the old key names the events it cannot check
    store.use_audit_keyring(AuditKeyring(store.audit_keyring.current))
    problems = _problems(store)
    assert any(p.startswith("event #1") and "not in the audit key ring" in p for p in problems)


def test_a_process_with_another_audit_key_is_warned(store: Store) -> None:
    _fill(store, 1)
    assert audit.foreign_key_warning(store) is None
    store.use_audit_keyring(AuditKeyring(b"\x02" * 32, source="another host's key file"))
    warning = audit.foreign_key_warning(store)
    assert warning is not None and "same OHSC_AUDIT_KEY" in warning


def test_a_store_that_refuses_writes_is_still_verified(store: Store) -> None:
    _fill(store, 2)
    with refused(store, "audit_events"):
        result = audit.verify_log(store, "tester")
    assert result.ok and result.events == 2
    assert any("not recorded" in n for n in result.notes)
