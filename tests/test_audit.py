"""The audit chain names changed, removed and reordered events."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from ohsc import audit
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent


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
