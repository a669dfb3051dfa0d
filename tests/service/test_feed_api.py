"""``GET /v1/feeds/{bank}`` and its feedback through the app: per-partner, signed, paged, audited."""

from __future__ import annotations

from sqlalchemy import select
from svc_helpers import Env

from ohsc.exchanges.feed_client import check_page
from ohsc.exchanges.feeds import FeedService
from ohsc.exchanges.signing import parse_public_key, signature_problem
from ohsc.store.models import AuditEvent

MD5 = [f"{0xC0DE00 + i:032x}" for i in range(5)]


def test_feed_pages_and_feedback(env: Env) -> None:
    env.bank("shared")
    admin = env.key()
    r = env.client.post(
        "/v1/banks/shared/entries",
        json={"entries": [{"signal_type": "md5", "value": v, "category": "placeholder"} for v in MD5]},
        headers=admin,
    )
    assert r.json()["added"] == 5
    partner = env.key("feed")
    feeds = FeedService(env.store, env.settings)
    assert env.client.get("/v1/feeds/shared", headers=partner).status_code == 404  # not published yet
    feeds.publish("shared", "test feed")
    assert env.client.get("/v1/feeds/shared", headers=admin).status_code == 403  # no feed scope

    trusted = parse_public_key(feeds.public_key())
    page = env.client.get("/v1/feeds/shared?after=0", headers=partner).json()
    assert signature_problem(page, trusted) is None and check_page(page, bank="shared", after=0) is None
    assert [i["value"] for i in page["items"]] == MD5 and page["more"] is False
    assert set(page["items"][0]) == {"seq", "id", "signal_type", "value", "category", "labels", "withdrawn"}
    tampered = {**page, "next": page["next"] + 1}
    assert signature_problem(tampered, trusted) is not None
    again = env.client.get(f"/v1/feeds/shared?after={page['next']}", headers=partner).json()
    assert again["items"] == [] and again["next"] == page["next"]
    assert env.client.get("/v1/feeds/shared?after=%C2%B2", headers=partner).status_code == 422

    first, second = page["items"][0]["id"], page["items"][1]["id"]
    r = env.client.post(
        "/v1/feeds/shared/feedback",
        json={"feedback": [{"id": first, "verdict": "confirmed"}, {"id": second, "verdict": "disputed"}]},
        headers=partner,
    )
    assert r.status_code == 200 and r.json() == {"recorded": 2}
    counts = feeds.feedback_counts("shared")
    assert counts[int(first)] == {"confirmed": 1} and counts[int(second)] == {"disputed": 1}
    misfires = feeds.feedback("shared")  # what `ohsc feed feedback shared` shows: most disputed first
    assert [(f.entry_id, f.value, f.confirmed, f.disputed) for f in misfires] == [
        (int(second), MD5[1], 0, 1),
        (int(first), MD5[0], 1, 0),
    ]
    with env.store.session() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("feed.%"))))
    assert actions.count("feed.page.serve") == 2 and "feed.feedback" in actions and "feed.publish" in actions
