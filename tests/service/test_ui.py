"""The review UI without a browser: login CSRF, sessions, CSRF on every form, keyboard-less flow."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from svc_helpers import PASSWORD, Env

from ohsc.accounts.models import WebSessionRow


def test_login_needs_its_form_token(sqlite_env: Env) -> None:
    env = sqlite_env
    env.user("alice")
    r = env.client.post("/login", data={"name": "alice", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403
    page = env.client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    bad = env.client.post("/login", data={"name": "alice", "password": "wrong password", "csrf_token": token})
    assert bad.status_code == 401
    assert "wrong user name or password" in bad.text
    good = env.client.post(
        "/login",
        data={"name": "alice", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/review"
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax")


def test_forms_need_the_session_csrf_token(sqlite_env: Env) -> None:
    env = sqlite_env
    env.user("alice")
    env.bank("known")
    env.add_image("known", 90)
    item_id = env.match_image(90)["review_item_id"]
    csrf = env.login(env.client, "alice")
    assert csrf
    forged = env.client.post(f"/review/items/{item_id}/claim", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    assert "security token" in forged.text
    missing = env.client.post(f"/review/items/{item_id}/reveal", data={"mode": "click"})
    assert missing.status_code == 403
    ok = env.client.post(f"/review/items/{item_id}/claim", data={"csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    assert ok.headers["location"] == f"/review/items/{item_id}"
    page = env.client.get(f"/review/items/{item_id}")
    assert 'class="blurred"' in page.text
    assert f"/review/items/{item_id}/preview" in page.text
    assert "autoplay" not in page.text
    preview = env.client.get(f"/review/items/{item_id}/preview")
    assert preview.headers["content-type"] == "image/jpeg"
    assert len(preview.content) < 20_000
    assert env.client.get(f"/review/items/{item_id}/media").status_code == 403
    revealed = env.client.post(
        f"/review/items/{item_id}/reveal",
        data={"mode": "click"},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    url = revealed.json()["url"]
    full = env.client.get(url)
    assert full.status_code == 200
    assert full.content[:3] == b"\xff\xd8\xff"
    assert "no-store" in full.headers["cache-control"]
    decided = env.client.post(
        f"/review/items/{item_id}/decide",
        data={"csrf_token": csrf, "decision": "confirm"},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    detail = env.services.review.detail(item_id)
    assert detail.item.decision == "confirm"
    assert detail.decisions[0].viewed_unblurred


def test_session_expiry_sends_back_to_login(sqlite_env: Env) -> None:
    env = sqlite_env
    env.user("alice")
    env.login(env.client, "alice")
    assert env.client.get("/review").status_code == 200
    with env.store.session() as s:
        for row in s.query(WebSessionRow):
            row.last_seen_at = row.last_seen_at - timedelta(minutes=env.settings.session_idle_minutes + 1)
    r = env.client.get("/review", follow_redirects=False)
    assert r.status_code == 303
    assert "expired=1" in r.headers["location"]
    hx = env.client.get("/review/rows", headers={"HX-Request": "true"})
    assert hx.status_code == 401
    assert hx.headers["hx-redirect"].startswith("/login")


def test_roles(sqlite_env: Env) -> None:
    env = sqlite_env
    env.user("audra", "auditor")
    with TestClient(env.app) as other:
        env.login(other, "audra")
        assert other.get("/review").status_code == 403
        page = other.get("/audit")
        assert page.status_code == 200
        assert "auth.login" in page.text
        csrf = page.text.split('data-csrf="', 1)[1].split('"', 1)[0]
        verified = other.post("/audit/verify", data={"csrf_token": csrf}, headers={"HX-Request": "true"})
        assert "Intact" in verified.text
        logout = other.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert logout.status_code == 303
        assert other.get("/audit", follow_redirects=False).status_code == 303


def test_security_headers(sqlite_env: Env) -> None:
    r = sqlite_env.client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    assert 'src="/static/vendor/htmx.min.js"' in r.text
    assert "https://" not in r.text
