"""The hash-only shortcut answers exactly what the /v1/match route answers, and hands everything
unusual to the route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from svc_helpers import Env, make_env

from ohsc.settings import load_settings

MD5 = "5d41402abc4b2a76b9719d911017c592"


@pytest.fixture
def warm_env(tmp_path: Path, db_url: str) -> Iterator[Env]:
    # API keys checked once are trusted for a while: the shortcut needs that
    yield from make_env(load_settings(home=tmp_path / "home", database_url=db_url, apikey_cache_seconds=60))


def _hits(env: Env) -> int:
    hits = env.services.extras.get("fastpath_answers", 0)
    assert isinstance(hits, int)
    return hits


def test_shortcut_answers_like_the_route(warm_env: Env) -> None:
    env = warm_env
    env.bank("known")
    env.client.post(
        "/v1/banks/known/entries", json={"entries": [{"signal_type": "md5", "value": MD5}]}, headers=env.key()
    )
    env.refresh()
    headers = env.key("match")
    cold = env.client.post("/v1/match", json={"signals": {"md5": "0" * 32}}, headers=headers)
    assert cold.status_code == 200
    # the key was checked before the body was read (ohsc.web.bodies): even the first call is short
    assert _hits(env) == 1
    plain = env.client.post("/v1/match", json={"signals": {"md5": "1" * 32}}, headers=headers)
    assert _hits(env) == 2
    assert plain.headers["content-type"] == "application/json"
    assert "content-security-policy" in plain.headers
    assert set(plain.json()) == set(cold.json())
    assert plain.json()["verdict"] == "none"
    matched = env.client.post(
        "/v1/match", json={"signals": {"md5": MD5}, "content_id": "fp-1"}, headers=headers
    ).json()
    assert _hits(env) == 3
    assert matched["verdict"] == "review"
    assert matched["review_item_id"] is not None
    again = env.client.post(
        "/v1/match", json={"signals": {"md5": MD5}, "content_id": "fp-1"}, headers=headers
    ).json()
    assert again["replayed"] is True
    assert again["review_item_id"] == matched["review_item_id"]


def test_unusual_requests_go_to_the_route(warm_env: Env) -> None:
    env = warm_env
    headers = env.key("match")
    env.client.post("/v1/match", json={"signals": {"md5": "0" * 32}}, headers=headers)  # warm the key
    bad = env.client.post("/v1/match", json={"signals": {"md5": "zz"}}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_signal"
    extra = env.client.post("/v1/match", json={"signals": {"md5": "0" * 32}, "oops": 1}, headers=headers)
    assert extra.status_code == 422
    url = env.client.post("/v1/match", json={"url": "http://127.0.0.1/x"}, headers=headers)
    assert url.status_code == 403
    assert url.json()["code"] == "fetch_refused"
    conflict_a = env.client.post(
        "/v1/match", json={"signals": {"md5": "2" * 32}, "content_id": "same"}, headers=headers
    )
    assert conflict_a.status_code == 200
    conflict_b = env.client.post(
        "/v1/match", json={"signals": {"md5": "3" * 32}, "content_id": "same"}, headers=headers
    )
    assert conflict_b.status_code == 409
    other_scope = env.client.post("/v1/match", json={"signals": {"md5": "0" * 32}}, headers=env.key("review"))
    assert other_scope.status_code == 403
    assert _hits(env) >= 1
