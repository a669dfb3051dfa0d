"""The review queue: claims never double-assign, decisions, two-person, exposure, add-to-bank."""

from __future__ import annotations

import threading

import pytest
from svc_helpers import Env

from ohsc.accounts.roles import Role
from ohsc.actions import events
from ohsc.errors import ExposureLimitError, PermissionDeniedError, ReviewStateError
from ohsc.review.model import Choice, Reviewer, Status
from ohsc.review.models import ReviewDecisionRow
from ohsc.review.queue import QueueFilter


def _reviewer(env: Env, name: str, role: Role = Role.REVIEWER) -> Reviewer:
    env.user(name, role)
    return Reviewer.of_user(env.services.accounts.get_user(name))


def _queue(env: Env, n: int, bank: str = "known") -> list[int]:
    env.bank(bank)
    values = [f"{i + 1:032x}" for i in range(n)]
    env.client.post(
        f"/v1/banks/{bank}/entries",
        json={"entries": [{"signal_type": "md5", "value": v} for v in values]},
        headers=env.key(),
    )
    env.refresh()
    ids = []
    for v in values:
        r = env.client.post("/v1/match", json={"signals": {"md5": v}}, headers=env.key("match")).json()
        ids.append(r["review_item_id"])
    return ids


def test_concurrent_claims_never_share_an_item(env: Env) -> None:
    ids = _queue(env, 12)
    reviewers = [_reviewer(env, f"r{i}") for i in range(4)]
    got: dict[str, list[int]] = {r.name: [] for r in reviewers}
    errors: list[BaseException] = []

    def work(reviewer: Reviewer) -> None:
        try:
            while True:
                item = env.services.review.claim_next(reviewer)
                if item is None:
                    return
                got[reviewer.name].append(item.id)
                env.services.review.decide(item.id, reviewer, Choice.NOT_ABUSE)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    claimed = [i for ids_ in got.values() for i in ids_]
    assert sorted(claimed) == sorted(ids)  # every item once, none twice


def test_claim_is_held_and_exclusive(env: Env) -> None:
    [item_id] = _queue(env, 1)
    alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
    first = env.services.review.claim_next(alice)
    assert first is not None
    assert first.id == item_id
    assert first.claimed_by == alice.user_id
    assert env.services.review.claim_next(alice).id == item_id  # type: ignore[union-attr]
    assert env.services.review.claim_next(bob) is None
    with pytest.raises(ReviewStateError):
        env.services.review.claim(item_id, bob)
    with pytest.raises(ReviewStateError):
        env.services.review.decide(item_id, bob, Choice.CONFIRM)
    env.services.review.decide(item_id, alice, Choice.SKIP)
    assert env.services.review.claim_next(alice) is None  # skipped items stay out of alice's next
    assert env.services.review.claim_next(bob).id == item_id  # type: ignore[union-attr]


def test_two_person_confirmation_and_hooks(env: Env) -> None:
    [plain] = _queue(env, 1, bank="second")
    assert env.services.review.get(plain).two_person is False
    env.client.post(
        f"/v1/review-items/{plain}/decision", json={"decision": "not_abuse"}, headers=env.key("review")
    )
    env.client.put("/v1/banks/second/policy", json={"two_person_review": True}, headers=env.key())
    value = f"{99:032x}"
    env.client.post(
        "/v1/banks/second/entries",
        json={"entries": [{"signal_type": "md5", "value": value}]},
        headers=env.key(),
    )
    env.refresh()
    item_id = env.client.post("/v1/match", json={"signals": {"md5": value}}, headers=env.key("match")).json()[
        "review_item_id"
    ]
    assert env.services.review.get(item_id).two_person is True
    seen: list[events.Event] = []

    def on_confirm(_session: object, event: events.Event) -> None:
        seen.append(event)

    events.subscribe(events.REVIEW_CONFIRMED, on_confirm)
    try:
        alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
        env.services.review.claim(item_id, alice)
        after_first = env.services.review.decide(item_id, alice, Choice.CONFIRM)
        assert after_first.status is Status.AWAITING_SECOND
        assert not seen
        with pytest.raises(ReviewStateError):
            env.services.review.claim(item_id, alice)
        assert env.services.review.claim_next(alice) is None
        assert env.services.review.claim_next(bob).id == item_id  # type: ignore[union-attr]
        final = env.services.review.decide(item_id, bob, Choice.CONFIRM)
        assert final.status is Status.DECIDED
        assert final.decision == "confirm"
        [event] = seen
        assert event.payload["review_item_id"] == item_id
        assert event.payload["confirmed_by"] == sorted([alice.actor, bob.actor])
        assert event.payload["viewed_unblurred"] is False
        assert event.payload["matches"][0]["bank"] == "second"
    finally:
        events.unsubscribe(events.REVIEW_CONFIRMED, on_confirm)


def test_disagreement_escalates_to_admins(env: Env) -> None:
    env.bank("pair")
    env.client.put("/v1/banks/pair/policy", json={"two_person_review": True}, headers=env.key())
    value = f"{7:032x}"
    env.client.post(
        "/v1/banks/pair/entries",
        json={"entries": [{"signal_type": "md5", "value": value}]},
        headers=env.key(),
    )
    env.refresh()
    item_id = env.client.post("/v1/match", json={"signals": {"md5": value}}, headers=env.key("match")).json()[
        "review_item_id"
    ]
    alice, bob, root = _reviewer(env, "alice"), _reviewer(env, "bob"), _reviewer(env, "root", Role.ADMIN)
    env.services.review.decide(item_id, alice, Choice.CONFIRM)
    assert env.services.review.decide(item_id, bob, Choice.NOT_ABUSE).status is Status.ESCALATED
    assert env.services.review.claim_next(bob) is None
    with pytest.raises(PermissionDeniedError):
        env.services.review.decide(item_id, bob, Choice.CONFIRM)
    assert env.services.review.claim_next(root).id == item_id  # type: ignore[union-attr]
    assert env.services.review.decide(item_id, root, Choice.NOT_ABUSE).decision == "not_abuse"


def test_confirm_adds_to_bank_and_false_positive_to_allowlist(env: Env) -> None:
    env.bank("known")
    env.bank("confirmed")
    env.bank("fp", allowlist=True)
    env.add_image("known", 40)
    env.add_image("known", 41)
    one = env.match_image(40)["review_item_id"]
    two = env.match_image(41)["review_item_id"]
    alice = _reviewer(env, "alice")
    env.services.review.decide(one, alice, Choice.CONFIRM, add_to_bank="confirmed")
    assert env.services.banks("t").get_bank("confirmed").active_entries == 4
    with pytest.raises(Exception, match="not an allowlist"):
        env.services.review.decide(two, alice, Choice.NOT_ABUSE, add_to_bank="confirmed")
    env.services.review.decide(two, alice, Choice.NOT_ABUSE, add_to_bank="fp")
    env.refresh()
    again = env.match_image(41)
    assert again["verdict"] == "allow"
    assert again["review_item_id"] is None
    with env.store.session() as s:
        rows = s.query(ReviewDecisionRow).order_by(ReviewDecisionRow.id).all()
        assert [r.added_to_bank_id is not None for r in rows] == [True, True]


def test_reveal_grant_exposure_and_viewed_flag(tmp_path: object) -> None:
    from pathlib import Path

    from svc_helpers import make_env

    from ohsc.settings import load_settings

    settings = load_settings(
        home=Path(str(tmp_path)) / "home", review_daily_reveal_limit=2, review_break_after_reveals=1
    )
    for env in make_env(settings):
        env.bank("known")
        env.add_image("known", 50)
        item_id = env.match_image(50)["review_item_id"]
        alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
        review = env.services.review
        with pytest.raises(PermissionDeniedError):
            review.media(item_id, alice, "")
        with pytest.raises(PermissionDeniedError, match="claim"):
            review.reveal(item_id, alice)  # only the reviewer holding the item looks at it
        review.claim(item_id, alice)
        grant = review.reveal(item_id, alice)
        assert review.media(item_id, alice, grant).data[:3] == b"\xff\xd8\xff"
        with pytest.raises(PermissionDeniedError):
            review.media(item_id, bob, grant)  # grants are personal
        exposure = review.exposure(alice.user_id or 0)
        assert exposure.reveals_today == 1
        assert exposure.break_due
        review.reveal(item_id, alice, mode="hold")
        with pytest.raises(ExposureLimitError):
            review.reveal(item_id, alice)
        review.decide(item_id, alice, Choice.CONFIRM)
        detail = review.detail(item_id)
        assert detail.viewed_unblurred
        assert detail.decisions[0].viewed_unblurred


def test_api_review_listing_and_decision(env: Env) -> None:
    ids = _queue(env, 3)
    listed = env.client.get("/v1/review-items?status=open&limit=2", headers=env.key("review")).json()
    assert [i["id"] for i in listed["items"]] == sorted(ids, reverse=True)[:2]
    more = env.client.get(
        f"/v1/review-items?status=open&cursor={listed['next_cursor']}", headers=env.key("review")
    ).json()
    assert len(more["items"]) == 1
    r = env.client.post(
        f"/v1/review-items/{ids[0]}/decision",
        json={"decision": "confirm", "note": "seen"},
        headers=env.key("review"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "confirm"
    assert r.json()["decided_by"].startswith("apikey:")
    again = env.client.post(
        f"/v1/review-items/{ids[0]}/decision", json={"decision": "confirm"}, headers=env.key("review")
    )
    assert again.status_code == 409
    assert again.json()["code"] == "review_state"
    assert env.client.get("/v1/review-items?status=bogus", headers=env.key("review")).status_code == 422
    decided = env.client.get("/v1/review-items?status=decided", headers=env.key("review")).json()["items"]
    assert [i["id"] for i in decided] == [ids[0]]
    matches = env.client.get("/v1/matches?bank=known&limit=2", headers=env.key("review")).json()
    assert len(matches["items"]) == 2
    assert matches["next_cursor"]
    one = env.client.get(f"/v1/matches/{matches['items'][0]['match_id']}", headers=env.key("review")).json()
    assert one["bank"] == "known"
    assert QueueFilter(status="pending").status == "pending"
