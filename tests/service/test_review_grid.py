"""Review at volume (the grid): bulk claims, step-by-step reveals and bulk decisions under the
single-item rules, each item's outcome reported."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from svc_helpers import Env, make_env

from ohsc.accounts.roles import Role
from ohsc.errors import InvalidInputError, PermissionDeniedError
from ohsc.review.model import Choice, Reviewer, Status
from ohsc.review.queue import QueueFilter
from ohsc.settings import load_settings
from ohsc.store.models import AuditEvent


def _reviewer(env: Env, name: str, role: Role = Role.REVIEWER) -> Reviewer:
    env.user(name, role)
    return Reviewer.of_user(env.services.accounts.get_user(name))


def _queue(env: Env, n: int, bank: str = "known", start: int = 1) -> list[int]:
    env.bank(bank)
    values = [f"{i + start:032x}" for i in range(n)]
    env.client.post(
        f"/v1/banks/{bank}/entries",
        json={"entries": [{"signal_type": "md5", "value": v} for v in values]},
        headers=env.key(),
    )
    env.refresh()
    return [
        env.client.post("/v1/match", json={"signals": {"md5": v}}, headers=env.key("match")).json()[
            "review_item_id"
        ]
        for v in values
    ]


def _grant(url: str | None) -> str:
    assert url is not None
    return parse_qs(urlsplit(url).query)["grant"][0]


def test_decide_many_applies_single_rules_per_item(env: Env) -> None:
    ids = _queue(env, 6)
    alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
    review = env.services.review
    grid = review.claim_many(alice, limit=3)
    mine = [i.id for i in grid]
    assert mine == ids[:3]  # queue order
    [meta] = review.provenance([ids[0]]).values()  # the grid's metadata panel
    assert meta["content_source"] == "signals"
    assert [e["source"] for e in meta["entries"].values()] == ["api"]
    review.claim(ids[3], bob)  # on bob's screen, not alice's
    decided_before = review.claim_many(bob, limit=0)
    assert [i.id for i in decided_before] == [ids[3]]
    review.decide(ids[3], bob, Choice.NOT_ABUSE)
    # ids[4]: nobody claimed it, nobody was shown it; 999999: no such item
    asked = [*mine, ids[3], ids[4], 999999, mine[0]]
    out = review.decide_many(asked, alice, Choice.NOT_ABUSE, note="grid")
    assert [o.item_id for o in out] == [*mine, ids[3], ids[4], 999999]  # each once, in order
    assert [o.ok for o in out] == [True, True, True, False, False, False]
    assert [o.outcome for o in out[3:]] == ["not_shown", "not_shown", "review_item_not_found"]
    assert all(o.message for o in out[3:])
    for item_id in mine:
        item = review.get(item_id)
        assert item.status is Status.DECIDED
        assert item.decided_by == alice.actor
    assert review.get(ids[4]).status is Status.OPEN  # untouched
    assert review.get(ids[3]).decided_by == bob.actor  # untouched
    # one review.decide event per decision (as single decisions), and one summary
    with env.store.session() as s:
        rows = s.query(AuditEvent).filter(AuditEvent.action.in_(["review.decide", "review.decide_many"]))
        events = [(e.action, e.actor, e.object_id, e.details) for e in rows.order_by(AuditEvent.seq)]
    decided = [e for e in events if e[0] == "review.decide" and e[1] == alice.actor]
    assert sorted(str(e[2]) for e in decided) == sorted(str(i) for i in mine)
    [summary] = [e[3] for e in events if e[0] == "review.decide_many"]
    assert summary["refused"] == {
        str(ids[3]): "not_shown",
        str(ids[4]): "not_shown",
        "999999": "review_item_not_found",
    }
    # a reviewer's grid no longer holds decided items; escalated items stay for admins
    assert review.grid(alice) == []
    with pytest.raises(InvalidInputError):
        review.decide_many([], alice, Choice.SKIP)


def test_grid_reveals_greyscale_then_colour_and_the_limit_midway(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", review_daily_reveal_limit=4)
    for env in make_env(settings):
        env.bank("known")
        items = []
        for seed in (61, 62, 63):
            env.add_image("known", seed)
            items.append(env.match_image(seed)["review_item_id"])
        alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
        review = env.services.review
        assert [i.id for i in review.claim_many(alice, sort="newest")] == items[::-1]
        # bob was shown none of them: refused, and nothing is counted
        refused = review.reveal_many(items, bob, target="grey")
        assert [o.outcome for o in refused] == ["not_shown"] * 3
        assert review.exposure(bob.user_id or 0).reveals_today == 0

        grey = review.reveal_many(items, alice, target="grey")
        assert all(o.ok for o in grey)
        assert review.exposure(alice.user_id or 0).reveals_today == 3
        picture = review.grey(items[0], alice, _grant(grey[0].url))
        assert picture is not None
        opened = Image.open(io.BytesIO(picture))
        assert opened.mode == "L" and max(opened.size) > 240  # sharp, larger than the blurred preview
        with pytest.raises(PermissionDeniedError):
            review.media(items[0], alice, _grant(grey[0].url))  # greyscale does not unlock colour
        with pytest.raises(PermissionDeniedError):
            review.grey(items[0], bob, _grant(grey[0].url))

        colour = review.reveal_many(items, alice, target="media")
        assert [o.ok for o in colour] == [True, False, False]  # the limit reached midway
        assert [o.outcome for o in colour[1:]] == ["exposure_limit", "exposure_limit"]
        assert "limit" in colour[1].message
        assert review.media(items[0], alice, _grant(colour[0].url)).data[:3] == b"\xff\xd8\xff"
        exposure = review.exposure(alice.user_id or 0)
        assert (exposure.reveals_today, exposure.limit_reached) == (4, True)

        # deciding is not a view: the whole selection is decided, each reported
        out = review.decide_many(items, alice, Choice.CONFIRM)
        assert [(o.item_id, o.ok, o.outcome) for o in out] == [(i, True, "confirm") for i in items]
        for item_id in items:
            detail = review.detail(item_id)
            assert detail.viewed_unblurred  # sharp greyscale counts as unblurred
            assert detail.decisions[-1].viewed_unblurred


def test_queue_sorts_and_search(env: Env) -> None:
    ids = _queue(env, 3, bank="alpha")
    other = _queue(env, 1, bank="beta", start=50)
    reviewer = _reviewer(env, "alice")
    review = env.services.review
    pending = QueueFilter(status="pending")
    assert [i.id for i in review.list_items(pending, sort="newest", reviewer=reviewer)] == [
        *other,
        *ids[::-1],
    ]
    assert [i.id for i in review.list_items(pending, sort="bank")][:3] == ids
    found = review.list_items(QueueFilter(status="pending", text=f"#{ids[1]}"), sort="age")
    assert [i.id for i in found] == [ids[1]]
    with pytest.raises(InvalidInputError):
        review.list_items(QueueFilter(text=" "), sort="age")  # an empty search is refused
