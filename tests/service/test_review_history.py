"""Review decisions are deliberate and reversible: one transaction with the bank addition, undo
within a window, reopen with a reason, search, what the queue offers whom, the item's context."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from svc_helpers import Env

from ohsc.accounts.roles import Role
from ohsc.actions import events
from ohsc.errors import InvalidInputError, PermissionDeniedError, ReviewStateError
from ohsc.review.model import Choice, Reviewer, Status
from ohsc.review.models import ReviewDecisionRow, ReviewItemRow
from ohsc.review.queue import QueueFilter
from ohsc.store.models import AuditEvent, EntryRow


def _reviewer(env: Env, name: str, role: Role = Role.REVIEWER) -> Reviewer:
    env.user(name, role)
    return Reviewer.of_user(env.services.accounts.get_user(name))


def _item(env: Env, seed: int, content_id: str | None = None) -> int:
    if "known" not in {b.name for b in env.services.banks("t").list_banks()}:
        env.bank("known")
    env.add_image("known", seed, external_id=f"ext-{seed}")
    item_id: int = env.match_image(seed, content_id=content_id)["review_item_id"]
    return item_id


def _actions(env: Env) -> list[str]:
    with env.store.session() as s:
        return [a for (a,) in s.query(AuditEvent.action).order_by(AuditEvent.seq)]


def _active(env: Env, bank: str) -> int:
    return env.services.banks("t").get_bank(bank).active_entries


def test_confirmation_and_its_bank_addition_commit_together(env: Env, monkeypatch: Any) -> None:
    item_id = _item(env, 60)
    env.bank("confirmed")
    alice = _reviewer(env, "alice")
    env.services.review.claim(item_id, alice)
    hooked: list[events.Event] = []

    def on_confirm(_s: object, event: events.Event) -> None:
        hooked.append(event)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("injected failure in the bank addition")

    monkeypatch.setattr("ohsc.banks.service.apply_batch", broken)
    events.subscribe(events.REVIEW_CONFIRMED, on_confirm)
    try:
        with pytest.raises(RuntimeError, match="injected"):
            env.services.review.decide(item_id, alice, Choice.CONFIRM, add_to_bank="confirmed")
    finally:
        events.unsubscribe(events.REVIEW_CONFIRMED, on_confirm)
    # nothing of the decision was recorded on its own
    item = env.services.review.get(item_id)
    assert item.status is Status.OPEN
    assert item.decision is None
    with env.store.session() as s:
        assert s.query(ReviewDecisionRow).count() == 0
    assert "review.decide" not in _actions(env)
    assert _active(env, "confirmed") == 0
    monkeypatch.undo()
    decided = env.services.review.decide(item_id, alice, Choice.CONFIRM, add_to_bank="confirmed")
    assert decided.decision == "confirm"
    assert _active(env, "confirmed") == 4
    assert _actions(env)[-2:] == ["review.decide", "bank.entries.add"]  # one transaction, in order


def test_undo_own_decision_within_the_window(env: Env) -> None:
    item_id = _item(env, 61)
    alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
    review = env.services.review
    review.claim(item_id, alice)
    review.decide(item_id, alice, Choice.NOT_ABUSE, note="a beach photo")
    assert review.undoable(alice) is not None
    assert review.undoable(alice).item_id == item_id  # type: ignore[union-attr]
    assert review.undoable(bob) is None
    with pytest.raises(ReviewStateError, match="nothing of yours"):
        review.undo(item_id, bob)
    back = review.undo(item_id, alice)
    assert back.status is Status.OPEN
    assert back.decision is None
    assert back.claimed_by == alice.user_id  # back on alice's screen
    assert review.undoable(alice) is None  # an undo is not undone by pressing U again
    detail = review.detail(item_id)
    assert [(d.decision, d.undone_at is not None) for d in detail.decisions] == [
        ("not_abuse", True),
        ("undo", False),
    ]
    assert detail.decisions[0].note == "a beach photo"
    # decide again, then let the window pass: undo is refused, reopening is the way
    review.decide(item_id, alice, Choice.CONFIRM)
    with env.store.session() as s:
        for row in s.query(ReviewDecisionRow).filter(ReviewDecisionRow.decision == "confirm"):
            row.at = row.at - timedelta(seconds=env.settings.review_undo_seconds + 1)
    assert review.undoable(alice) is None
    with pytest.raises(ReviewStateError, match="reopen"):
        review.undo(item_id, alice)
    assert "review.undo" in _actions(env)


def test_undo_withdraws_what_the_decision_added_and_nothing_else(env: Env) -> None:
    item_id = _item(env, 62)
    other = _item(env, 63)
    env.bank("confirmed")
    alice = _reviewer(env, "alice")
    review = env.services.review
    # one of the item's hashes is in the bank already (from another item): it must stay
    review.decide(other, alice, Choice.CONFIRM, add_to_bank="confirmed")
    assert _active(env, "confirmed") == 4
    md5 = review.detail(item_id).signals["md5"]
    env.client.post(
        "/v1/banks/confirmed/entries",
        json={"entries": [{"signal_type": "md5", "value": md5}]},
        headers=env.key(),
    )
    assert _active(env, "confirmed") == 5
    review.claim(item_id, alice)
    review.decide(item_id, alice, Choice.CONFIRM, add_to_bank="confirmed")
    assert _active(env, "confirmed") == 8
    review.undo(item_id, alice)
    assert _active(env, "confirmed") == 5  # the md5 that was there before stays
    with env.store.session() as s:
        withdrawn = s.query(EntryRow).filter(EntryRow.retracted_at.is_not(None)).all()
        assert len(withdrawn) == 3
        assert all("undone" in (r.retraction_reason or "") for r in withdrawn)
    env.refresh()
    # deciding again adds them back (the withdrawal was the review's own)
    review.decide(item_id, alice, Choice.CONFIRM, add_to_bank="confirmed")
    assert _active(env, "confirmed") == 8


def test_undo_of_a_first_confirmation_and_of_an_escalation(env: Env) -> None:
    env.bank("pair")
    env.client.put("/v1/banks/pair/policy", json={"two_person_review": True}, headers=env.key())
    env.add_image("pair", 64)
    item_id = env.match_image(64)["review_item_id"]
    alice = _reviewer(env, "alice")
    review = env.services.review
    review.claim(item_id, alice)
    assert review.decide(item_id, alice, Choice.CONFIRM).status is Status.AWAITING_SECOND
    undone = review.undo(item_id, alice)
    assert undone.status is Status.OPEN
    assert undone.first_confirmed_by is None
    assert review.decide(item_id, alice, Choice.ESCALATE).status is Status.ESCALATED
    assert review.undo(item_id, alice).status is Status.OPEN


def test_undo_is_refused_once_someone_else_acted(env: Env) -> None:
    item_id = _item(env, 65)
    alice, root = _reviewer(env, "alice"), _reviewer(env, "root", Role.ADMIN)
    review = env.services.review
    review.decide(item_id, alice, Choice.ESCALATE)
    review.claim(item_id, root)
    with pytest.raises(ReviewStateError, match="another reviewer"):
        review.undo(item_id, alice)
    review.decide(item_id, root, Choice.CONFIRM)
    with pytest.raises(ReviewStateError):
        review.undo(item_id, alice)


def test_reopen_a_decided_item_with_a_reason(env: Env) -> None:
    item_id = _item(env, 66)
    env.bank("confirmed")
    alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
    review = env.services.review
    review.decide(item_id, alice, Choice.CONFIRM, add_to_bank="confirmed")
    with pytest.raises(InvalidInputError, match="reason"):
        review.reopen(item_id, bob, "   ")
    with pytest.raises(ReviewStateError):
        review.reopen(_item(env, 67), bob, "not decided yet")
    reopened = review.reopen(item_id, bob, "the hash list entry was withdrawn by its source")
    assert reopened.status is Status.OPEN
    assert reopened.decision is None
    assert reopened.claimed_by == bob.user_id
    assert _active(env, "confirmed") == 0  # what the decision added is withdrawn with it
    history = review.detail(item_id).decisions
    assert history[-1].decision == "reopen"
    assert history[-1].note == "the hash list entry was withdrawn by its source"
    assert history[-1].actor == bob.actor
    assert "review.reopen" in _actions(env)
    with env.store.session() as s:
        event = s.query(AuditEvent).filter(AuditEvent.action == "review.reopen").one()
        assert "withdrawn" not in str(event.details.get("reason", ""))  # identifiers, never text
    review.decide(item_id, bob, Choice.NOT_ABUSE)
    assert review.get(item_id).decision == "not_abuse"


def test_reopen_keeps_an_escalated_item_with_the_admins(env: Env) -> None:
    item_id = _item(env, 68)
    alice, root = _reviewer(env, "alice"), _reviewer(env, "root", Role.ADMIN)
    review = env.services.review
    review.decide(item_id, alice, Choice.ESCALATE)
    review.decide(item_id, root, Choice.CONFIRM)
    assert review.reopen(item_id, alice, "second look").status is Status.ESCALATED
    with pytest.raises(PermissionDeniedError):
        review.claim(item_id, alice)


def test_search_by_content_id_hash_and_bank_entry(env: Env) -> None:
    one = _item(env, 69, content_id="post-123")
    two = _item(env, 70)
    alice = _reviewer(env, "alice")
    review = env.services.review
    review.decide(one, alice, Choice.NOT_ABUSE)
    detail = review.detail(two)
    entry = detail.matches[0]
    assert [i.id for i in review.search("post-123", alice)] == [one]  # decided items are found
    assert [i.id for i in review.search(detail.signals["md5"].upper(), alice)] == [two]
    assert [i.id for i in review.search(detail.signals["pdq"], alice)] == [two]
    assert [i.id for i in review.search(f"entry {entry['entry_id']}", alice)] == [two]
    assert [i.id for i in review.search("ext-70", alice)] == [two]
    assert [i.id for i in review.search(f"#{one}", alice)] == [one]
    assert review.search("nothing-like-this", alice) == []
    with pytest.raises(InvalidInputError):
        review.search(" ", alice)
    with env.store.session() as s:
        searches = s.query(AuditEvent).filter(AuditEvent.action == "review.search").all()
        assert len(searches) == 7
        assert {e.details["kind"] for e in searches} >= {"content_id", "hash", "entry", "item"}


def test_escalated_items_are_not_offered_to_reviewers_who_cannot_claim_them(env: Env) -> None:
    item_id = _item(env, 71)
    open_id = _item(env, 72)
    alice, bob, root = _reviewer(env, "alice"), _reviewer(env, "bob"), _reviewer(env, "root", Role.ADMIN)
    review = env.services.review
    review.decide(item_id, alice, Choice.ESCALATE)
    pending_for_bob = review.list_items(QueueFilter(status="pending"), after=0, reviewer=bob)
    assert [i.id for i in pending_for_bob] == [open_id]
    pending_for_root = review.list_items(QueueFilter(status="pending"), after=0, reviewer=root)
    assert [i.id for i in pending_for_root] == [item_id, open_id]
    escalated = review.get(item_id)
    assert not review.can_claim(escalated, bob)
    assert review.can_claim(escalated, root)
    assert review.can_claim(review.get(open_id), bob)


def test_item_context_names_who_holds_it_and_the_upload(env: Env) -> None:
    item_id = _item(env, 73)
    alice = _reviewer(env, "alice")
    review = env.services.review
    review.claim(item_id, alice)
    detail = review.detail(item_id)
    assert detail.claimed_by_name == "alice"
    assert detail.item.received_at is not None
    assert detail.item.media_size is not None
    assert detail.item.media_size > 1000
    assert detail.item.media_kind == "image"
    assert set(detail.signals) >= {"md5", "pdq", "sha256"}
    with env.store.session() as s:
        assert s.get(ReviewItemRow, item_id) is not None


def test_api_undo_reopen_and_search(env: Env) -> None:
    item_id = _item(env, 74, content_id="api-post-9")
    key = env.key("review")
    found = env.client.get("/v1/review-items/search", params={"q": "api-post-9"}, headers=key)
    assert found.status_code == 200, found.text
    assert [i["id"] for i in found.json()["items"]] == [item_id]
    assert found.json()["items"][0]["media"]["size"] > 1000
    r = env.client.post(f"/v1/review-items/{item_id}/decision", json={"decision": "not_abuse"}, headers=key)
    assert r.status_code == 200
    other_key = env.key("review", "match")
    refused = env.client.post(f"/v1/review-items/{item_id}/undo", headers=other_key)
    assert refused.status_code == 409
    assert refused.json()["code"] == "review_state"
    undone = env.client.post(f"/v1/review-items/{item_id}/undo", headers=key)
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "open"
    env.client.post(f"/v1/review-items/{item_id}/decision", json={"decision": "confirm"}, headers=key)
    empty = env.client.post(f"/v1/review-items/{item_id}/reopen", json={"reason": ""}, headers=key)
    assert empty.status_code == 422
    reopened = env.client.post(
        f"/v1/review-items/{item_id}/reopen", json={"reason": "wrong call"}, headers=key
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "open"
    detail = env.client.get(f"/v1/review-items/{item_id}", headers=key).json()
    assert [d["decision"] for d in detail["decisions"]] == ["not_abuse", "undo", "confirm", "reopen"]
    assert detail["decisions"][0]["undone_at"] is not None
    assert detail["decisions"][-1]["note"] == "wrong call"
    assert env.client.get("/v1/review-items/search", params={"q": ""}, headers=key).status_code == 422
