"""Exposure on the dashboard (issue 18): how long revealed media stayed visible (the browser
reports each reveal's end) and reveals refused at the daily limit, recorded and counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from svc_helpers import PASSWORD, Env, make_env

from ohsc.accounts.roles import Role
from ohsc.errors import ExposureLimitError, PermissionDeniedError
from ohsc.figures.common import week_of
from ohsc.figures.dashboard import dashboard
from ohsc.review.model import Reviewer
from ohsc.review.models import MediaRevealRow, RevealRefusalRow
from ohsc.settings import load_settings
from ohsc.store.models import AuditEvent


def _reviewer(env: Env, name: str, role: Role = Role.REVIEWER) -> Reviewer:
    env.user(name, role)
    return Reviewer.of_user(env.services.accounts.get_user(name))


def _item(env: Env, seed: int) -> int:
    env.bank("known")
    env.add_image("known", seed)
    return int(env.match_image(seed)["review_item_id"])


def _rows(env: Env) -> list[tuple[str, datetime, datetime | None]]:
    with env.store.session() as s:
        rows = s.query(MediaRevealRow).order_by(MediaRevealRow.id)
        return [(r.target, r.at, r.hidden_at) for r in rows]


def test_hidden_ends_the_reveal_its_grant_names(env: Env) -> None:
    item = _item(env, 71)
    alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
    review = env.services.review
    review.claim(item, alice)
    colour = review.reveal(item, alice, target="media")
    grey = review.reveal(item, alice, target="grey")
    assert review.hidden(item, alice, grey, target="grey") is True
    (t1, _at1, end1), (t2, at2, end2) = _rows(env)
    assert (t1, end1) == ("media", None)  # the colour reveal is still on screen
    assert t2 == "grey" and end2 is not None and end2 >= at2
    assert review.hidden(item, alice, grey, target="grey") is False  # the first end counts
    with pytest.raises(PermissionDeniedError):
        review.hidden(item, bob, colour)  # alice's grant, not bob's
    with pytest.raises(PermissionDeniedError):
        review.hidden(item, alice, colour, target="grey")  # a colour grant names no grey reveal
    with pytest.raises(PermissionDeniedError):
        review.hidden(item, alice, colour.split(".")[0] + ".0123456789abcdef0123456789abcdef")
    assert _rows(env)[0][2] is None
    assert review.hidden(item, alice, colour) is True
    assert _rows(env)[0][2] is not None


def test_a_decision_ends_the_deciders_reveals_on_screen(env: Env) -> None:
    """The browser's beacon for a page left on deciding may arrive late or never: the decision
    itself ends that reviewer's reveals of the item, one by one and from the grid alike; another
    reviewer's reveal of the item stays open, and a later beacon changes nothing."""
    one = _item(env, 74)
    env.add_image("known", 75)
    two = int(env.match_image(75)["review_item_id"])
    alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob", Role.ADMIN)
    review = env.services.review
    review.claim(one, alice)
    bobs = review.reveal(one, bob)
    grey = review.reveal(one, alice, target="grey")
    review.reveal(one, alice)
    review.decide(one, alice, "not_abuse")
    (_, _, bob_end), (_, at_grey, grey_end), (_, at_colour, colour_end) = _rows(env)
    assert bob_end is None
    assert grey_end is not None and colour_end is not None
    assert grey_end >= at_grey and colour_end >= at_colour
    assert review.hidden(one, alice, grey, target="grey") is False
    assert review.hidden(one, bob, bobs) is True

    assert [i.id for i in review.claim_many(alice)] == [two]
    review.reveal_many([two], alice, target="grey")
    [outcome] = review.decide_many([two], alice, "not_abuse")
    assert outcome.ok
    assert all(end is not None for _, _, end in _rows(env))


def test_dashboard_time_revealed_and_refusals_from_recorded_rows(env: Env) -> None:
    """Rows at known times: the figures equal what is computed here by hand."""
    item = _item(env, 72)
    alice, bob = _reviewer(env, "alice"), _reviewer(env, "bob")
    now = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # a Thursday
    monday, tuesday = datetime(2026, 11, 23, 10, 0, tzinfo=UTC), datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    last_week = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    s_ = timedelta(seconds=1)
    reveals = [  # (user, at, hidden_at)
        (alice, monday, monday + 42 * s_),  # 42 s
        (alice, monday + 300 * s_, None),  # no end arrived: 300 s, the grant's lifetime
        (alice, tuesday, tuesday + 2 * 3600 * s_),  # an end 2 h later counts 1 h
        (bob, last_week, last_week + 10 * s_),
        (bob, last_week + 20 * s_, last_week + 95 * s_),
        (bob, last_week + 100 * s_, last_week + 101 * s_),
    ]
    with env.store.session() as s:
        for who, at, end in reveals:
            assert who.user_id is not None
            s.add(
                MediaRevealRow(
                    item_id=item, user_id=who.user_id, target="media", mode="click", at=at, hidden_at=end
                )
            )
        assert alice.user_id is not None
        s.add(RevealRefusalRow(item_id=item, user_id=alice.user_id, target="media", at=tuesday + 1800 * s_))
        s.add(RevealRefusalRow(item_id=item, user_id=alice.user_id, target="grey", at=tuesday + 1900 * s_))
    figures = dashboard(env.store, days=28, daily_limit=3, now=now)
    got = {(r.reviewer, r.week): r for r in figures.exposure}
    this_week, before = week_of(monday.date()), week_of(last_week.date())
    assert set(got) == {("alice", this_week), ("bob", before)}
    a, b = got[("alice", this_week)], got[("bob", before)]
    assert (a.reveals, a.seconds_revealed, a.refused) == (3, 42 + 300 + 3600, 2)
    assert a.days_at_limit == 1  # tuesday: refused (monday's 2 reveals stay under 3)
    assert (b.reveals, b.seconds_revealed, b.refused) == (3, 10 + 75 + 1, 0)
    assert b.days_at_limit == 1  # 3 reveals on one day, the limit


def _login(env: Env, name: str) -> tuple[TestClient, str]:
    client = TestClient(env.app, base_url="http://testserver")
    token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    page = client.get("/review").text
    return client, page.split('data-csrf="', 1)[1].split('"', 1)[0]


def test_refused_reveals_recorded_and_the_end_sent_as_a_beacon(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", review_daily_reveal_limit=1)
    for env in make_env(settings):
        item = _item(env, 73)
        alice = _reviewer(env, "alice")
        client, csrf = _login(env, "alice")
        env.services.review.claim(item, alice)
        r = client.post(
            f"/review/items/{item}/reveal", data={"target": "media"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 200, r.text
        grant = parse_qs(urlsplit(r.json()["url"]).query)["grant"][0]
        refused = client.post(
            f"/review/items/{item}/reveal", data={"target": "grey"}, headers={"X-CSRF-Token": csrf}
        )
        assert refused.status_code == 403 and "limit" in refused.text
        with pytest.raises(ExposureLimitError):
            env.services.review.reveal(item, alice)
        # a beacon carries the CSRF token in its form; without it, nothing is recorded
        assert client.post(f"/review/items/{item}/hidden", data={"grant": grant}).status_code == 403
        assert _rows(env)[0][2] is None
        sent = client.post(f"/review/items/{item}/hidden", data={"grant": grant, "csrf_token": csrf})
        assert sent.status_code == 204
        assert _rows(env)[0][2] is not None
        with env.store.session() as s:
            refusals = [
                (r.item_id, r.target) for r in s.query(RevealRefusalRow).order_by(RevealRefusalRow.id)
            ]
            events = s.query(AuditEvent).filter_by(action="media.reveal_refused").count()
        assert refusals == [(item, "grey"), (item, "media")]
        assert events == 2
        [row] = dashboard(env.store, days=7, daily_limit=1).exposure
        assert (row.reviewer, row.reveals, row.refused, row.days_at_limit) == ("alice", 1, 2, 1)
        assert 0 <= row.seconds_revealed < 300  # ended, so not the 5 minutes of an open reveal
        page = env_dashboard(env)
        assert 'class="refused">2<' in page


def env_dashboard(env: Env) -> str:
    env.user("ada", Role.ADMIN)
    client = TestClient(env.app, base_url="http://testserver")
    token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"name": "ada", "password": PASSWORD, "csrf_token": token})
    return client.get("/dashboard?days=7").text
