"""Removal in the web app: the public URL report form (proof of work, single-use token, rate
limits, honeypot), the dashboard and its CSV/JSON, the URL list (admins), the splash page."""

from __future__ import annotations

import re
from datetime import timedelta

from svc_helpers import Env

from ohsc.accounts.roles import Role
from ohsc.prevention.tips import solve_pow
from ohsc.removal.frontier import Frontier
from ohsc.removal.models import TakedownRow
from ohsc.store.types import utcnow


def _token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_public_form_queues_a_url_with_the_tip_forms_defences(env: Env) -> None:
    env.services.settings.__dict__.update(trace_tip_min_seconds=0, trace_pow_bits=8, trace_tips_per_hour=2)
    page = env.client.get("/report-url")
    assert page.status_code == 200 and 'id="tip-form"' in page.text
    token = _token(page.text)
    bad = env.client.post("/report-url", data={"url": "http://example.com/x", "token": token, "pow": "x"})
    assert bad.status_code == 422  # no proof of work
    form = {"url": "http://example.com/x", "token": token, "pow": solve_pow(token, 8)}
    sent = env.client.post("/report-url", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/report-url?sent=1"
    assert env.client.post("/report-url", data=form).status_code == 422  # single use
    [url] = Frontier(env.services.store, env.services.settings).list_urls()
    assert url.url == "http://example.com/x" and url.sources == ("public",)
    internal = _token(env.client.get("/report-url").text)
    r = env.client.post(
        "/report-url", data={"url": "http://10.1.2.3/", "token": internal, "pow": solve_pow(internal, 8)}
    )
    assert r.status_code == 422 and "public internet" in r.text
    spam = _token(env.client.get("/report-url").text)
    r = env.client.post(
        "/report-url",
        data={"url": "http://example.com/y", "token": spam, "pow": solve_pow(spam, 8), "website": "x"},
        follow_redirects=False,
    )
    assert r.status_code == 303  # the same thanks, nothing stored
    assert len(Frontier(env.services.store, env.services.settings).list_urls()) == 1
    third = _token(env.client.get("/report-url").text)
    r = env.client.post(
        "/report-url", data={"url": "http://example.com/z", "token": third, "pow": solve_pow(third, 8)}
    )
    assert r.status_code == 429


def _takedowns(env: Env) -> None:
    now = utcnow()
    with env.services.store.session() as s:
        for i, (host, hours, status) in enumerate(
            [("a.example", 10, "removed"), ("a.example", 30, "removed"), ("b.example", None, "open")]
        ):
            first = now - timedelta(days=50)
            s.add(
                TakedownRow(
                    url_key=f"{i:064d}", url=f"http://{host}/{i}.jpg", page_url=f"http://{host}/", host=host,
                    bank="known", status=status, first_seen_at=first, first_notice_at=first,
                    removal_seconds=None if hours is None else hours * 3600.0, country="NL", network="NET",
                    notices_sent=1, checks=1, escalated=False,
                )
            )  # fmt: skip


def test_dashboard_csv_json_and_url_list(env: Env) -> None:
    _takedowns(env)
    env.user("rita", Role.REVIEWER)
    env.login(env.client, "rita")
    page = env.client.get("/removal?by=host")
    assert page.status_code == 200 and 'data-group="a.example"' in page.text
    body = env.client.get("/removal/stats.json?by=host").json()
    a = next(g for g in body["groups"] if g["group"] == "a.example")
    assert (a["median_hours"], a["p90_hours"], a["within_24h"], a["within_48h"]) == (10.0, 30.0, 0.5, 1.0)
    b = next(g for g in body["groups"] if g["group"] == "b.example")
    assert b["up_after_42d"] == 1.0
    csv = env.client.get("/removal/stats.csv?by=country").text
    assert csv.splitlines()[0].startswith("group,notified,removed") and "NL,3,2,1" in csv
    assert env.client.get("/removal/urllist.txt").status_code == 403  # admins only
    blocked = env.client.get("/blocked")
    assert blocked.status_code == 200
