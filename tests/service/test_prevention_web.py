"""Prevention in the web app: the deterrence API and click redirect, the public help pages and
widget, the help-directory editor, Trace an Object for investigators and the public, the dashboard."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import create_engine
from svc_helpers import Env, image, make_env

from ohsc.accounts.roles import Role
from ohsc.actor import LocalActor
from ohsc.prevention.tips import solve_pow
from ohsc.settings import load_settings
from ohsc.store.all_models import metadata
from ohsc.store.db import normalise_url
from ohsc.web.prevention import prevention

SECRET = "zorblat qx7unrepeatable"


@pytest.fixture
def penv(tmp_path: Path, db_url: str) -> Iterator[Env]:
    settings = load_settings(
        home=tmp_path / "home",
        database_url=db_url,
        apikey_cache_seconds=0,
        trace_tip_min_seconds=0,
        trace_pow_bits=8,
        trace_tips_per_hour=3,
        help_widget_frame_ancestors="https://forum.example",
    )
    lists = settings.home / "deterrence" / "lists"
    lists.mkdir(parents=True)
    (lists / "en.txt").write_text("# invented words\nzorblat\nquindle*\n", "utf-8")
    yield from make_env(settings)


def _login(env: Env, name: str, role: Role) -> tuple[TestClient, str]:
    env.user(name, role)
    client = TestClient(env.app, base_url="http://testserver")
    return client, env.login(client, name)


def _check(env: Env, headers: dict[str, str], **body: str) -> dict[str, object]:
    r = env.client.post("/v1/deterrence/check", json=body, headers=headers)
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


# --- the API -------------------------------------------------------------------------------------


def test_check_api_scopes_and_answers(penv: Env) -> None:
    key = penv.key("deterrence")
    hit = _check(penv, key, text="Where is ZORBLAT?", locale="de", country="DE", context="search")
    assert hit["triggered"] is True and hit["list"] == "en" and hit["locale"] == "de"
    message = hit["message"]
    assert isinstance(message, dict) and message["id"] == "deterrence.search" and message["version"] >= 1
    resources = hit["resources"]
    assert isinstance(resources, list) and resources
    assert all(r["click_url"].startswith("/v1/deterrence/go/") for r in resources if r["url"])
    miss = _check(penv, key, text="an ordinary query", locale="fr")
    assert miss == {
        "triggered": False,
        "list": None,
        "lists": [],
        "message": None,
        "resources": [],
        "locale": "fr",
    }

    assert penv.client.post("/v1/deterrence/check", json={"text": "x"}).status_code == 401
    assert (
        penv.client.post("/v1/deterrence/check", json={"text": "x"}, headers=penv.key("match")).status_code
        == 403
    )
    bad = penv.client.post("/v1/deterrence/check", json={"text": "zorblat", "context": "nope"}, headers=key)
    assert bad.status_code == 422 and "zorblat" not in bad.text
    long = penv.client.post("/v1/deterrence/check", json={"text": "quindle " * 400}, headers=key)
    assert long.status_code == 422 and "quindle" not in long.text

    # an admin session may check too (CSRF header required); other roles may not
    admin, csrf = _login(penv, "ada", Role.ADMIN)
    assert admin.post("/v1/deterrence/check", json={"text": "zorblat"}).status_code == 403
    r = admin.post("/v1/deterrence/check", json={"text": "zorblat"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["triggered"] is True
    rev, rcsrf = _login(penv, "rev", Role.REVIEWER)
    assert (
        rev.post("/v1/deterrence/check", json={"text": "x"}, headers={"X-CSRF-Token": rcsrf}).status_code
        == 403
    )


def test_click_redirect_counts(penv: Env) -> None:
    hit = _check(penv, penv.key("deterrence"), text="zorblat", locale="en", country="GB")
    resources = hit["resources"]
    assert isinstance(resources, list)
    first = next(r for r in resources if r["click_url"])
    r = penv.client.get(first["click_url"] + "?locale=en", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == (first["url"] or first["chat_url"])
    missing = penv.client.get("/v1/deterrence/go/999999", follow_redirects=False)
    assert missing.status_code == 404 and missing.json()["code"] == "help_service_not_found"
    p = prevention(penv.services)
    p.flush()
    assert sum(p.stats.daily(("clicks",), days=1).series["clicks"]) == 1
    assert p.stats.breakdown("triggers", "list", days=1) == [("en", 1)]


def test_checked_text_is_never_stored_or_logged(penv: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = penv.key("deterrence")
    for context in ("search", "chat", None):
        body = {"text": SECRET, "locale": "nl"} | ({"context": context} if context else {})
        assert _check(penv, key, **body)["triggered"] is True
    penv.client.post("/v1/deterrence/check", json={"text": SECRET, "country": 5}, headers=key)
    penv.client.post("/v1/deterrence/check", json={"text": SECRET * 300}, headers=key)
    penv.client.get("/help/deterrence?locale=nl&country=NL")
    prevention(penv.services).flush()
    needle = "qx7unrepeatable"
    assert needle not in caplog.text
    url = penv.settings.database_url
    assert url
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(table.select()):
                assert needle not in repr(tuple(row)), table.name
    engine.dispose()
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        for path in db.parent.glob(db.name + "*"):
            assert needle.encode() not in path.read_bytes()


# --- public pages ------------------------------------------------------------------------------


def test_interstitial_is_localised_and_accessible(penv: Env) -> None:
    r = penv.client.get("/help/deterrence?locale=de&country=DE&context=search")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="de" dir="ltr">' in html
    assert '<main id="main"' in html and "<h1" in html and 'class="skip"' in html
    assert "Kein Täter werden" in html
    assert re.search(r'href="/v1/deterrence/go/\d+\?locale=de"', html)
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    # Accept-Language chooses the language when no locale is given
    fr = penv.client.get("/help/deterrence", headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert '<html lang="fr"' in fr.text


def test_widget_may_be_framed_only_as_configured(penv: Env) -> None:
    page = penv.client.get("/help/widget?locale=nl&country=BE")
    assert page.status_code == 200
    assert "x-frame-options" not in page.headers
    assert "frame-ancestors https://forum.example" in page.headers["content-security-policy"]
    assert 'target="_blank"' in page.text and '<html lang="nl"' in page.text
    js = penv.client.get("/help/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "/help/widget?" in js.text
    prevention(penv.services).flush()
    views = dict(prevention(penv.services).stats.breakdown("views", "list", days=1))
    assert views == {"widget": 1}


def test_public_directory_search(penv: Env) -> None:
    r = penv.client.get("/help?country=DE&language=de&audience=self&locale=de")
    assert r.status_code == 200
    assert "Kein Täter werden" in r.text and "NSPCC" not in r.text
    assert '<option value="DE" selected>' in r.text
    gb = penv.client.get("/help?country=GB&audience=parents")
    assert "NSPCC" in gb.text and "Kein Täter werden" not in gb.text
    none = penv.client.get("/help?country=ZZ&language=zz")
    assert "No service matches" in none.text


# --- the directory editor ------------------------------------------------------------------------


def test_directory_editing(penv: Env) -> None:
    assert penv.client.get("/prevention/directory", follow_redirects=False).status_code == 303
    rev, _ = _login(penv, "rev", Role.REVIEWER)
    assert rev.get("/prevention/directory").status_code == 403
    pa, csrf = _login(penv, "pam", Role.PREVENTION_ADMIN)
    listing = pa.get("/prevention/directory")
    assert listing.status_code == 200 and "Stop It Now" in listing.text
    form = {
        "csrf_token": csrf, "name": "Helpline <b>Zet</b>", "countries": "NL, BE", "languages": "nl",
        "audiences": ["self", "parents"], "url": "https://help.example/nl", "phone": "0800 123",
        "enabled": "on", "priority": "5",
    }  # fmt: skip
    r = pa.post("/prevention/directory/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    sid = int(r.headers["location"].split("service+")[1].rstrip("."))
    public = penv.client.get("/help?country=NL&language=nl")
    assert "Helpline &lt;b&gt;Zet&lt;/b&gt;" in public.text
    bad = pa.post(f"/prevention/directory/{sid}", data=form | {"url": "javascript:alert(1)"})
    assert bad.status_code == 422 and "http:// or https://" in bad.text
    assert (
        pa.post(
            f"/prevention/directory/{sid}", data=form | {"enabled": ""}, follow_redirects=False
        ).status_code
        == 303
    )
    assert "Zet" not in penv.client.get("/help?country=NL").text
    # a deterrence check no longer offers it either
    assert (
        pa.post(
            f"/prevention/directory/{sid}/remove", data={"csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    assert pa.get(f"/prevention/directory/{sid}").status_code == 404
    seeded = pa.post("/prevention/seed", data={"csrf_token": csrf}, follow_redirects=False)
    assert seeded.status_code == 303
    assert pa.post("/prevention/seed", data={}).status_code == 403  # CSRF


def test_dashboard(penv: Env) -> None:
    key = penv.key("deterrence")
    _check(penv, key, text="zorblat", locale="de")
    _check(penv, key, text="nothing", locale="de")
    pa, _ = _login(penv, "pam", Role.PREVENTION_ADMIN)
    r = pa.get("/prevention?days=7")
    assert r.status_code == 200
    assert '<svg id="chart"' in r.text and "<polyline" in r.text and "series-checks" in r.text
    assert "checks (2)" in r.text and "triggers (1)" in r.text
    inv, _ = _login(penv, "ivy", Role.INVESTIGATOR)
    assert inv.get("/prevention").status_code == 403


# --- Trace an Object ---------------------------------------------------------------------------


def _published(env: Env) -> tuple[TestClient, str, TestClient, str, int, str]:
    a, acsrf = _login(env, "ann", Role.INVESTIGATOR)
    b, bcsrf = _login(env, "ben", Role.INVESTIGATOR)
    r = a.post(
        "/investigate/new",
        files={"file": ("o.jpg", image(7), "image/jpeg")},
        data={"csrf_token": acsrf, "category": "toys", "question": "Where is this toy sold?"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    oid = int(r.headers["location"].rsplit("/", 1)[1])
    assert (
        a.post(
            f"/investigate/objects/{oid}/submit", data={"csrf_token": acsrf}, follow_redirects=False
        ).status_code
        == 303
    )
    own = a.post(f"/investigate/objects/{oid}/approve", data={"csrf_token": acsrf}, follow_redirects=False)
    # post/redirect/get for the refusal too: a reload shows the object page again, not a 405
    assert own.status_code == 303
    assert own.headers["location"].startswith(f"/investigate/objects/{oid}?error=")
    shown = a.get(own.headers["location"])
    assert shown.status_code == 200
    assert "second investigator must approve" in shown.text and 'id="action-error"' in shown.text
    ok = b.post(f"/investigate/objects/{oid}/approve", data={"csrf_token": bcsrf}, follow_redirects=False)
    assert ok.status_code == 303
    public_id = prevention(env.services).objects.get(_actor(), oid).public_id
    return a, acsrf, b, bcsrf, oid, public_id


def _actor() -> LocalActor:
    return LocalActor("t", frozenset({"admin"}))


def _tip(env: Env, public_id: str, text_: str, client: TestClient | None = None) -> Response:
    c = client or env.client
    page = c.get(f"/trace/o/{public_id}")
    token = page.text.split('name="token" value="', 1)[1].split('"', 1)[0]
    return c.post(
        f"/trace/o/{public_id}/tips",
        data={
            "token": token,
            "pow": solve_pow(token, env.settings.trace_pow_bits),
            "tip": text_,
            "locale": "en",
        },
        follow_redirects=False,
    )


def test_trace_flow_tips_and_inbox(penv: Env) -> None:
    a, acsrf, _b, _bcsrf, oid, public_id = _published(penv)
    gallery = penv.client.get("/trace")
    assert f"/trace/img/{public_id}/thumb" in gallery.text and "Where is this toy sold?" in gallery.text
    assert penv.client.get(f"/trace/img/{public_id}").headers["content-type"].startswith("image/")
    assert penv.client.get(f"/trace/img/{public_id}/thumb").status_code == 200
    assert penv.client.get("/trace/img/0000000000000000").status_code == 404

    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    sent = _tip(penv, public_id, "Seen at the market. " + attack)
    assert sent.status_code == 303 and "sent=1" in sent.headers["location"]
    assert "Thank you" in penv.client.get(sent.headers["location"]).text
    # server-side validation: an empty tip, a forged token, a missing proof of work
    page = penv.client.get(f"/trace/o/{public_id}")
    token = page.text.split('name="token" value="', 1)[1].split('"', 1)[0]
    empty = penv.client.post(f"/trace/o/{public_id}/tips", data={"token": token, "tip": "  "})
    assert empty.status_code == 422 and "Please write a message" in empty.text
    forged = penv.client.post(f"/trace/o/{public_id}/tips", data={"token": token[:-1] + "0", "tip": "hi"})
    assert forged.status_code == 422 and 'id="tip-error"' in forged.text and "hi</textarea>" in forged.text
    # the honeypot: thanked, not stored
    assert _tip(penv, public_id, "bot").status_code == 303

    inbox = a.get("/investigate/tips")
    assert inbox.status_code == 200
    assert "<script>alert" not in inbox.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in inbox.text
    tip_id = int(re.findall(r'id="tip-(\d+)"', inbox.text)[0])
    r = a.post(
        f"/investigate/tips/{tip_id}",
        data={"csrf_token": acsrf, "status": "useful", "add_tags": "market, toys", "note": "=call", "next": "/investigate/tips?status=useful"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/investigate/tips?status=useful"
    assert "market, toys" in a.get("/investigate/tips?status=useful&tag=toys").text
    assert "No tips." in a.get("/investigate/tips?status=spam").text
    csv = a.get(f"/investigate/tips.csv?object={oid}")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "'=call" in csv.text and "Seen at the market" in csv.text
    detail = a.get(f"/investigate/objects/{oid}")
    assert "&lt;script&gt;" in detail.text and "<script>alert" not in detail.text
    assert a.get(f"/investigate/objects/{oid}/img?thumb=1").status_code == 200

    # identified: the public sees a thank-you and no form
    assert (
        a.post(
            f"/investigate/objects/{oid}/identify", data={"csrf_token": acsrf}, follow_redirects=False
        ).status_code
        == 303
    )
    page = penv.client.get(f"/trace/o/{public_id}")
    assert "Identified" in page.text and 'id="tip-form"' not in page.text
    assert (
        a.post(
            f"/investigate/objects/{oid}/retire", data={"csrf_token": acsrf}, follow_redirects=False
        ).status_code
        == 303
    )
    assert penv.client.get(f"/trace/o/{public_id}").status_code == 404
    rev, _ = _login(penv, "rev", Role.REVIEWER)
    assert rev.get("/investigate").status_code == 403


def test_tip_rate_limit_gives_a_friendly_page(penv: Env) -> None:
    _a, _acsrf, _b, _bcsrf, _oid, public_id = _published(penv)
    for i in range(3):
        assert _tip(penv, public_id, f"tip {i}").status_code == 303
    limited = _tip(penv, public_id, "one too many")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] and 'id="rate-limited"' in limited.text
    assert "Too many messages" in limited.text and "<html lang=" in limited.text


def test_reject_and_list_by_status(penv: Env) -> None:
    a, acsrf = _login(penv, "ann", Role.INVESTIGATOR)
    b, bcsrf = _login(penv, "ben", Role.INVESTIGATOR)
    assert a.get("/investigate/new").status_code == 200
    bad = a.post("/investigate/new", files={"file": ("o.jpg", b"not an image", "image/jpeg")},
                 data={"csrf_token": acsrf, "category": "toys", "question": "q"})  # fmt: skip
    assert bad.status_code == 422 and 'id="form-error"' in bad.text
    r = a.post("/investigate/new", files={"file": ("o.jpg", image(3), "image/jpeg")},
               data={"csrf_token": acsrf, "category": "clothing", "question": "Which brand?"}, follow_redirects=False)  # fmt: skip
    oid = int(r.headers["location"].rsplit("/", 1)[1])
    a.post(f"/investigate/objects/{oid}/submit", data={"csrf_token": acsrf})
    assert f'href="/investigate/objects/{oid}"' in b.get("/investigate?status=pending").text
    assert (
        b.post(
            f"/investigate/objects/{oid}/reject", data={"csrf_token": bcsrf, "note": "crop more"}
        ).status_code
        == 200
    )
    drafts = b.get("/investigate?status=draft")
    assert f'href="/investigate/objects/{oid}"' in drafts.text
    assert "crop more" in b.get(f"/investigate/objects/{oid}").text
    again = b.post(f"/investigate/objects/{oid}/approve", data={"csrf_token": bcsrf})
    assert again.status_code == 200 and "only pending objects" in again.text
    assert str(again.url).split("?")[0].endswith(f"/investigate/objects/{oid}")


def test_editing_a_published_object_sends_it_back_for_approval(penv: Env) -> None:
    a, acsrf, b, bcsrf, oid, public_id = _published(penv)
    page = a.get(f"/investigate/objects/{oid}")
    assert 'action="/investigate/objects/' in page.text and "goes back for approval" in page.text
    r = a.post(
        f"/investigate/objects/{oid}/edit",
        data={"csrf_token": acsrf, "category": "toys", "question": "Who makes this <b>toy</b>?"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "Object+saved" in r.headers["location"]
    detail = a.get(f"/investigate/objects/{oid}")
    assert "pending" in detail.text and "Who makes this &lt;b&gt;toy&lt;/b&gt;?" in detail.text
    assert penv.client.get(f"/trace/o/{public_id}").status_code == 404  # off the gallery until approved
    bad = a.post(f"/investigate/objects/{oid}/edit", data={"csrf_token": acsrf, "question": "x" * 1001})
    assert bad.status_code == 200 and 'id="action-error"' in bad.text
    assert str(bad.url).split("?")[0].endswith(f"/investigate/objects/{oid}")
    ok = b.post(f"/investigate/objects/{oid}/approve", data={"csrf_token": bcsrf}, follow_redirects=False)
    assert ok.status_code == 303
    assert "Who makes this" in penv.client.get(f"/trace/o/{public_id}").text
