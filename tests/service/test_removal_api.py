"""``POST /v1/urls`` (scope ``crawl``): platforms report URLs; duplicates merge with sources."""

from __future__ import annotations

from svc_helpers import Env


def test_post_urls_needs_the_crawl_scope_and_merges_duplicates(env: Env) -> None:
    body = {"urls": ["http://example.com/a", "HTTP://example.com/a#frag", "https://example.com/b"]}
    assert env.client.post("/v1/urls", json=body).status_code == 401
    assert env.client.post("/v1/urls", json=body, headers=env.key("match")).status_code == 403
    r = env.client.post("/v1/urls", json=body, headers=env.key("crawl"))
    assert r.status_code == 202, r.text
    urls = r.json()["urls"]
    assert [u["new"] for u in urls] == [True, True]
    again = env.client.post("/v1/urls", json={"urls": ["http://example.com/a"]}, headers=env.key("crawl"))
    assert again.json()["urls"][0] == {**urls[0], "new": False}
    got = env.client.get(f"/v1/urls/{urls[0]['id']}", headers=env.key("crawl")).json()
    assert got["state"] == "queued" and got["sources"] == ["api"]


def test_post_urls_refuses_internal_targets(env: Env) -> None:
    for url in ("http://127.0.0.1/", "http://169.254.169.254/", "http://[::1]/", "file:///etc/passwd"):
        r = env.client.post("/v1/urls", json={"urls": [url]}, headers=env.key("crawl"))
        assert r.status_code == 422, (url, r.text)
