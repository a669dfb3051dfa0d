"""Pages people see: each role lands on its home, no inline handlers for the CSP to block, words
instead of storage keys in statistics and the audit log, a reversed period refused, the
gallery's own filter button, service descriptions that say when they are in English,
confirmations before what cannot be undone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from svc_helpers import PASSWORD, Env, image

from ohsc.accounts.roles import Role
from ohsc.actor import LocalActor
from ohsc.errors import InvalidInputError
from ohsc.prevention.deterrence import Resource
from ohsc.reports.stats import report_stats
from ohsc.store.types import parse_when
from ohsc.web import labels
from ohsc.web.prevention import prevention
from ohsc.web.templating import TEMPLATES_DIR
from ohsc.web.ui.login import HOMES


def _login(env: Env, name: str, role: Role) -> tuple[TestClient, str]:
    """A fresh client logged in as a new user with ``role``; returns it and where it landed."""
    env.user(name, role)
    client = TestClient(env.app, base_url="http://testserver")
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return client, r.headers["location"]


@pytest.mark.parametrize("role", list(Role))
def test_every_role_lands_on_a_page_it_may_open(sqlite_env: Env, role: Role) -> None:
    client, landing = _login(sqlite_env, f"u-{role.value}", role)
    assert landing == HOMES[role]
    home = client.get(landing)
    assert home.status_code == 200, f"{role.value} lands on {landing}: {home.status_code}"
    again = client.get("/login", follow_redirects=False)  # logged in already: home again
    assert again.headers["location"] == landing


def _inline_handlers(text: str) -> list[str]:
    tags = re.findall(r"<[a-zA-Z][^>]*>", text)
    found = [t for t in tags if re.search(r"\son[a-z]+\s*=", t)]
    found += re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text)
    found += [t for t in tags if re.search(r"""\bhref\s*=\s*["']\s*javascript:""", t, re.IGNORECASE)]
    return found


def test_templates_have_no_inline_handlers_the_csp_blocks() -> None:
    """``script-src 'self'``: an onchange="..." or an inline <script> does nothing in a browser."""
    roots = [TEMPLATES_DIR, *Path(TEMPLATES_DIR).parent.parent.joinpath("prevention").rglob("templates")]
    offenders = {
        str(path.relative_to(root)): found
        for root in roots
        for path in Path(root).rglob("*.html")
        if (found := _inline_handlers(path.read_text("utf-8")))
    }
    assert offenders == {}


def test_durations_and_labels() -> None:
    assert labels.duration(219) == "3 min 39 s"
    assert labels.duration("219") == "3 min 39 s"
    assert labels.duration(45) == "45 s"
    assert labels.duration(7200) == "2 h"
    assert labels.duration(93784) == "1 d 2 h"
    assert labels.duration(None) == ""
    assert labels.stat_label("median_match_to_report_seconds") == "Median time from match to filing"
    assert labels.stat_value("median_match_to_report_seconds", "219") == "3 min 39 s"
    assert labels.stat_value("median_match_to_report_seconds", "") == "none yet"
    assert labels.action_label("review.decide") == "Review decision"
    assert labels.action_label("trace_tip.export") == "Trace tip · export"
    assert labels.details({"viewed_unblurred": False, "decision_id": 3, "entries": [1, 2]}) == [
        ("viewed unblurred", "no"),
        ("decision id", "3"),
        ("entries", "1, 2"),
    ]


def test_report_statistics_in_words_and_a_reversed_period_refused(sqlite_env: Env) -> None:
    client, _ = _login(sqlite_env, "remy", Role.REPORTER)
    page = client.get("/reports/stats")
    assert page.status_code == 200
    assert "Median time from match to filing" in page.text
    assert ">median_match_to_report_seconds<" not in page.text
    assert "Reports created" in page.text
    reversed_ = client.get("/reports/stats?since=2024-02-01&until=2024-01-01")
    assert reversed_.status_code == 422
    assert 'id="stats-error"' in reversed_.text
    assert "before it starts" in reversed_.text
    assert 'id="stats"' not in reversed_.text  # no table of zeros
    one_day = client.get("/reports/stats?since=2024-01-01&until=2024-01-01")  # until includes the day
    assert one_day.status_code == 200
    assert "2024-01-02 00:00:00 UTC" in one_day.text
    assert client.get("/reports/stats.csv?since=2024-02-01&until=2024-01-01").status_code == 422
    with pytest.raises(InvalidInputError, match="before it starts"):
        report_stats(
            sqlite_env.store, since=parse_when("2024-02-01", "s"), until=parse_when("2024-01-01", "u")
        )


def test_audit_log_in_words(sqlite_env: Env) -> None:
    client, _ = _login(sqlite_env, "audrey", Role.AUDITOR)
    page = client.get("/audit")
    assert page.status_code == 200
    assert "Logged in" in page.text
    assert "<code>auth.login</code>" in page.text  # the key stays, small, for searching
    table = page.text.split('id="audit-events"', 1)[1]
    assert '{"' not in table and "&#34;" not in table  # no raw JSON
    assert "user agent" in table or "name" in table


def _publish(env: Env) -> str:
    p = prevention(env.services)
    ann = LocalActor("user:ann", frozenset({"investigator"}))
    ben = LocalActor("user:ben", frozenset({"investigator"}))
    obj = p.objects.create(ann, image(11), category="toys", question="Where is this toy sold?")
    p.objects.submit(ann, obj.id)
    p.objects.approve(ben, obj.id)
    return obj.public_id


def test_gallery_filter_button_names_what_it_shows(sqlite_env: Env) -> None:
    _publish(sqlite_env)
    en = sqlite_env.client.get("/trace?locale=en").text
    assert ">Show objects</button>" in en
    assert "Show services" not in en
    assert ">Gegenstände anzeigen</button>" in sqlite_env.client.get("/trace?locale=de").text


def test_service_descriptions_say_when_they_are_in_english(sqlite_env: Env) -> None:
    de = sqlite_env.client.get("/help?locale=de&country=GB").text
    assert 'class="desc" lang="en"' in de
    assert "(auf Englisch)" in de
    fr = sqlite_env.client.get("/help/deterrence?locale=fr&country=GB").text
    assert 'class="desc" lang="en"' in fr and "(en anglais)" in fr
    en = sqlite_env.client.get("/help?locale=en&country=GB").text
    assert 'class="desc" lang="en"' not in en and "(in English)" not in en
    # an operator's own wording is not claimed to be English
    p = prevention(sqlite_env.services)
    admin = LocalActor("user:root", frozenset({"admin"}))
    nspcc = next(s for s in p.directory.all() if s.seed_key and "nspcc" in s.seed_key)
    assert Resource.of(nspcc, "/go/{id}").to_dict()["description_language"] == "en"  # the API says so too
    p.directory.update(admin, nspcc.id, {"description": "Beratung für Eltern und Fachleute."})
    assert p.directory.get(nspcc.id).description_language is None


def test_confirmations_before_what_cannot_be_undone() -> None:
    """Discarding a draft, removing a help service and retiring an object ask first
    (app.js turns data-confirm into a confirmation; the browser tests press both answers)."""
    wanted = {
        "reports/report.html": "/discard",
        "prevention/directory_admin.html": "/remove",
        "prevention/investigate_object.html": "/retire",
    }
    for name, action in wanted.items():
        text = (TEMPLATES_DIR / name).read_text("utf-8")
        form = re.search(r"<form[^>]*action=\"[^\"]*" + re.escape(action) + r"\"[^>]*>", text)
        assert form is not None, name
        assert "data-confirm=" in form.group(0), name
