"""Actions: rule precedence, signed webhooks from the durable outbox, retries, delivery log, hooks."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from svc_helpers import Env
from svc_loopback import Reply, loopback_server

from ohsc.actions import events
from ohsc.actions.models import OutboxRow
from ohsc.actions.rules import Rule, Verdict, pick_rule
from ohsc.actions.signing import sign, verify
from ohsc.actions.webhooks import Dispatcher
from ohsc.content.model import Submission
from ohsc.settings import Settings
from ohsc.store.types import utcnow

MD5 = "5d41402abc4b2a76b9719d911017c592"


@pytest.fixture
def svc_settings(svc_settings: Settings) -> Settings:
    """The test webhook receivers listen on loopback, which an operator must allow."""
    return svc_settings.model_copy(update={"egress_allow": "127.0.0.1/32"})


def test_most_specific_rule_wins() -> None:
    fallback = Rule(
        id=None, bank_id=None, category=None, verdict=Verdict.REVIEW, review=True, notify=True, report=False
    )
    rules = [
        Rule(
            id=1, bank_id=None, category=None, verdict=Verdict.ALLOW, review=False, notify=True, report=False
        ),
        Rule(
            id=2, bank_id=None, category="c", verdict=Verdict.REVIEW, review=True, notify=True, report=False
        ),
        Rule(id=3, bank_id=7, category=None, verdict=Verdict.BLOCK, review=True, notify=True, report=False),
        Rule(id=4, bank_id=7, category="c", verdict=Verdict.ALLOW, review=False, notify=True, report=True),
    ]
    assert pick_rule(rules, 7, "c", fallback).id == 4
    assert pick_rule(rules, 7, "d", fallback).id == 3
    assert pick_rule(rules, 8, "c", fallback).id == 2
    assert pick_rule(rules, 8, None, fallback).id == 1
    assert pick_rule([], 8, None, fallback) is fallback


def test_signature_round_trip() -> None:
    body = b'{"a":1}'
    header = sign("s3cret-s3cret-s3cret", body, timestamp=1_700_000_000)
    assert verify("s3cret-s3cret-s3cret", header, body, now=1_700_000_100)
    assert not verify("s3cret-s3cret-s3cret", header, body + b" ", now=1_700_000_100)
    assert not verify("other-secret-other", header, body, now=1_700_000_100)
    assert not verify("s3cret-s3cret-s3cret", header, body, now=1_700_009_999)  # too old: a replay


def _prepare(env: Env, url: str, types: list[str] | None = None) -> tuple[int, str]:
    r = env.client.post(
        "/v1/webhooks",
        json={"name": "platform", "url": url, "event_types": types or ["*"]},
        headers=env.key(),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert "secret" in body
    assert len(body["secret"]) >= 16
    listed = env.client.get("/v1/webhooks", headers=env.key()).json()["items"]
    assert "secret" not in listed[0]
    env.bank("known")
    env.client.post(
        "/v1/banks/known/entries", json={"entries": [{"signal_type": "md5", "value": MD5}]}, headers=env.key()
    )
    env.refresh()
    return body["id"], body["secret"]


def test_webhook_delivery_is_signed_and_logged(env: Env) -> None:
    with loopback_server() as server:
        hook_id, secret = _prepare(env, server.url + "/hook", ["match.created", "review.confirmed"])
        result = env.client.post(
            "/v1/match", json={"signals": {"md5": MD5}, "content_id": "c-1"}, headers=env.key("match")
        ).json()
        dispatcher = Dispatcher(env.store, env.settings)
        try:
            assert dispatcher.deliver_due() == 1
            env.client.post(
                f"/v1/review-items/{result['review_item_id']}/decision",
                json={"decision": "confirm"},
                headers=env.key("review"),
            )
            assert dispatcher.deliver_due() == 1
            assert dispatcher.deliver_due() == 0
        finally:
            dispatcher.close()
        assert [r.headers["ohsc-event"] for r in server.received] == ["match.created", "review.confirmed"]
        for req in server.received:
            assert verify(secret, req.headers["ohsc-signature"], req.body)
        first = json.loads(server.received[0].body)
        assert first["type"] == "match.created"
        assert first["data"]["client_content_id"] == "c-1"
        assert first["data"]["matches"][0]["bank"] == "known"
        confirmed = json.loads(server.received[1].body)["data"]
        assert confirmed["review_item_id"] == result["review_item_id"]
        assert confirmed["decision"] == "confirm"
        log = env.client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=env.key()).json()["items"]
        assert [d["ok"] for d in log] == [True, True]


def test_failed_deliveries_back_off_and_give_up(tmp_path: object) -> None:
    from pathlib import Path

    from svc_helpers import make_env

    from ohsc.settings import load_settings

    settings = load_settings(
        home=Path(str(tmp_path)) / "home",
        webhook_max_attempts=3,
        webhook_backoff_seconds=60,
        egress_allow="127.0.0.1/32",
    )
    for env in make_env(settings):
        with loopback_server(lambda _r: Reply(status=500)) as server:
            _prepare(env, server.url, ["match.created"])
            env.client.post("/v1/match", json={"signals": {"md5": MD5}}, headers=env.key("match"))
            dispatcher = Dispatcher(env.store, env.settings)
            try:
                delays = []
                for attempt in range(1, 4):
                    assert dispatcher.deliver_due() == 1
                    assert dispatcher.deliver_due() == 0  # not due yet: backing off
                    with env.store.session() as s:
                        row = s.query(OutboxRow).one()
                        assert row.attempts == attempt
                        if row.status == "pending":
                            delays.append((row.next_attempt_at - utcnow()).total_seconds())
                            row.next_attempt_at = utcnow() - timedelta(seconds=1)  # time passes
                with env.store.session() as s:
                    row = s.query(OutboxRow).one()
                    assert row.status == "failed"
                    assert row.last_error == "HTTP 500"
            finally:
                dispatcher.close()
            assert len(server.received) == 3
            assert 50 < delays[0] <= 60
            assert 110 < delays[1] <= 120


def test_outbox_survives_rollback_and_hooks_run_in_transaction(env: Env) -> None:
    calls: list[str] = []

    def boom(_session: object, event: events.Event) -> None:
        calls.append(event.type)
        raise RuntimeError("handler failed")

    with loopback_server() as server:
        _prepare(env, server.url)
        events.subscribe(events.MATCH_CREATED, boom)
        try:
            with pytest.raises(RuntimeError):
                env.services.content("test").submit(Submission(signals={"md5": MD5}, source="signals"))
        finally:
            events.unsubscribe(events.MATCH_CREATED, boom)
        assert calls == ["match.created"]
        with env.store.session() as s:
            assert s.query(OutboxRow).count() == 0  # the failed change queued nothing


def test_webhook_validation(env: Env) -> None:
    bad = env.client.post("/v1/webhooks", json={"url": "ftp://x"}, headers=env.key())
    assert bad.status_code == 422
    bad = env.client.post(
        "/v1/webhooks", json={"url": "http://x", "event_types": ["nope"]}, headers=env.key()
    )
    assert bad.status_code == 422
    assert "unknown event type" in bad.json()["detail"]
    ok = env.client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/x", "event_types": ["review.decided"]},
        headers=env.key(),
    )
    hook_id = ok.json()["id"]
    changed = env.client.patch(f"/v1/webhooks/{hook_id}", json={"enabled": False}, headers=env.key())
    assert changed.json()["enabled"] is False
    assert env.client.delete(f"/v1/webhooks/{hook_id}", headers=env.key()).status_code == 204
    assert env.client.get(f"/v1/webhooks/{hook_id}", headers=env.key()).status_code == 404


def test_rules_api(env: Env) -> None:
    env.bank("known")
    r = env.client.post(
        "/v1/rules", json={"bank": "known", "verdict": "block", "report": True}, headers=env.key()
    )
    rule = r.json()
    assert rule["verdict"] == "block"
    assert rule["review"] is True
    assert rule["report"] is True
    dup = env.client.post("/v1/rules", json={"bank": "known", "verdict": "allow"}, headers=env.key())
    assert dup.status_code == 409
    assert (
        env.client.patch(f"/v1/rules/{rule['id']}", json={"verdict": "review"}, headers=env.key()).json()[
            "verdict"
        ]
        == "review"
    )
    assert len(env.client.get("/v1/rules", headers=env.key()).json()["items"]) == 1
    assert env.client.delete(f"/v1/rules/{rule['id']}", headers=env.key()).status_code == 204
    assert env.client.get(f"/v1/rules/{rule['id']}", headers=env.key()).status_code == 404
    assert env.client.post("/v1/rules", json={"verdict": "maybe"}, headers=env.key()).status_code == 422
