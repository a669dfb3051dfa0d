"""The console's figures (issue 18): the dashboard and the transparency report show what a test
computes independently, with plain Python, from the inputs it fed through the library; the CSV,
the JSON and ``ohsc transparency`` agree; the match log and the audit log filter; a reviewer
reaches none of these pages."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from figures_data import Inputs, build
from svc_helpers import PASSWORD, Env

from ohsc.accounts.roles import Role
from ohsc.audit.search import AuditQuery, search_events
from ohsc.cli import main
from ohsc.content.matchlog import MatchQuery
from ohsc.figures.matches import match_log
from ohsc.web.labels import duration


def _client(env: Env, name: str, role: Role) -> TestClient:
    env.user(name, role)
    client = TestClient(env.app, base_url="http://testserver")
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return client


def _cells(html: str, xpath: str) -> list[list[str]]:
    doc = lxml.html.fromstring(html)
    return [[c.text_content().strip() for c in row.xpath("./td")] for row in doc.xpath(xpath)]


def _medians(inputs: Inputs) -> tuple[float, float, float]:
    final = {item for _, item, choice in inputs.decisions if choice in ("confirm", "not_abuse")}
    to_decision = [(d - c).total_seconds() for i, (c, d) in inputs.times.items() if i in final and d]
    assert inputs.report is not None
    matched, filed, decided = inputs.report
    return (
        statistics.median(to_decision),
        (filed - decided).total_seconds(),
        (filed - matched).total_seconds(),
    )


def _check_dashboard(html: str, inputs: Inputs) -> None:
    queue = dict(row for row in _cells(html, '//table[@id="queue-table"]//tr') if len(row) == 2)
    decided = {item for _, item, choice in inputs.decisions if choice != "escalate"}
    escalated = {item for _, item, choice in inputs.decisions if choice == "escalate"}
    waiting = {i for _, _, _, i in inputs.matches if i not in decided}
    assert queue["open"] == str(len(waiting - escalated))
    assert queue["escalated"] == str(len(escalated))
    assert queue["waiting under 1 hour"] == str(len(waiting))
    per_reviewer = Counter(who for who, _, _ in inputs.decisions)
    rows = {r[0]: r for r in _cells(html, '//table[@id="decisions-table"]/tbody/tr')}
    assert set(rows) == set(per_reviewer)
    for who, n in per_reviewer.items():
        assert rows[who][-1] == str(n)  # the total
        assert rows[who][-2] == str(n)  # all today, the last day
    week = datetime.now(UTC).isocalendar()
    exposure = {r[0]: r[1:] for r in _cells(html, '//table[@id="exposure-table"]/tbody/tr')}
    for who in ("alice", "bob"):
        mine = [(item, mode) for w, item, mode in inputs.reveals if w == who]
        at_limit = int(inputs.daily_limit > 0 and len(mine) >= inputs.daily_limit)
        expected = [f"{week[0]}-W{week[1]:02d}", str(len(mine)), str(sum(m == "hold" for _, m in mine)),
                    str(len({i for i, _ in mine})), str(at_limit)]  # fmt: skip
        assert exposure[who][:5] == expected
        # time revealed: to each reported end, or 5 minutes (a grant's lifetime) with none; no refusals
        seconds = sum((end - at).total_seconds() if end else 300.0 for at, end in inputs.shown[who])
        assert exposure[who][5:] == [duration(seconds), "0"]
    times = {r[0]: r[1:] for r in _cells(html, '//table[@id="times-table"]/tbody/tr')}
    to_decision, to_report, match_to_report = _medians(inputs)
    finals = sum(choice != "escalate" for _, _, choice in inputs.decisions)
    assert times["match to final decision"] == [duration(to_decision), str(finals)]
    assert times["decision to filed report"] == [duration(to_report), "1"]
    assert times["match to filed report"] == [duration(match_to_report), "1"]
    banks = dict(row for row in _cells(html, '//table[@id="banks-table"]/tbody/tr'))
    assert banks == {b: str(n) for b, n in Counter(b for b, _, _, _ in inputs.matches).items()}
    assert html.count("<svg id=") >= 6  # each figure drawn, server-side


def _expected_transparency(inputs: Inputs) -> dict[str, object]:
    final = Counter(choice for _, _, choice in inputs.decisions if choice != "escalate")
    to_decision, _, match_to_report = _medians(inputs)
    return {
        "matches": len(inputs.matches),
        "matched_items": len({c for _, _, c, _ in inputs.matches}),
        "matches_by_bank": dict(Counter(b for b, _, _, _ in inputs.matches)),
        "matches_by_category": dict(Counter(c for _, c, _, _ in inputs.matches)),
        "decisions": {"confirm": final["confirm"], "not_abuse": final["not_abuse"]},
        "escalations": sum(choice == "escalate" for _, _, choice in inputs.decisions),
        "reports": 1,
        "reports_filed": 1,
        "reports_by_authority": {"local-folder": {"finished": 1}},
        "takedowns": len(inputs.takedown_statuses),
        "takedowns_by_status": dict(Counter(inputs.takedown_statuses)),
        "takedowns_removed": 0,
        "median_match_to_decision_seconds": pytest.approx(to_decision, abs=0.01),
        "median_match_to_report_seconds": pytest.approx(match_to_report, abs=0.01),
        "median_notice_to_removal_seconds": None,
    }


def test_dashboard_and_transparency_show_independently_computed_figures(env: Env, tmp_path: Path) -> None:
    inputs = build(env, tmp_path)
    admin = _client(env, "ada", Role.ADMIN)
    page = admin.get("/dashboard")
    assert page.status_code == 200, page.text
    _check_dashboard(page.text, inputs)

    today = datetime.now(UTC).date()
    period = f"since={today - timedelta(days=1)}&until={today}"
    expected = _expected_transparency(inputs)
    got = admin.get(f"/transparency?{period}&format=json").json()
    assert {k: got[k] for k in expected} == expected
    assert set(got["definitions"]) >= {"matches", "decisions", "reports_by_authority", "takedowns"}

    rows = list(csv.reader(io.StringIO(admin.get(f"/transparency?{period}&format=csv").text)))
    assert rows[0] == ["metric", "dimension", "value"]
    for bank, n in expected["matches_by_bank"].items():  # type: ignore[attr-defined]
        assert ["matches_by_bank", bank, str(n)] in rows
    assert ["decisions", "confirm", str(expected["decisions"]["confirm"])] in rows  # type: ignore[index]
    assert ["reports_by_authority", "local-folder:finished", "1"] in rows

    html = admin.get(f"/transparency?{period}").text
    shown = {(r[0], r[1]): r[2] for r in _cells(html, '//table[@id="figures"]/tbody/tr')}
    assert shown[("matches", "")] == str(expected["matches"])
    assert shown[("takedowns by status", "dismissed")] == "1"
    assert "What each figure counts" in html

    result = CliRunner().invoke(
        main, ["transparency", "--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1)),
               "--format", "json"], env={"OHSC_HOME": str(env.settings.home),
                                         "OHSC_DATABASE_URL": env.settings.database_url or ""},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    assert {k: cli[k] for k in expected} == expected
    empty = admin.get("/transparency?since=2001-01-01&until=2001-01-31&format=json").json()
    assert empty["matches"] == 0 and empty["decisions"] == {"confirm": 0, "not_abuse": 0}
    assert admin.get("/transparency?since=2001-02-01&until=2001-01-01").status_code == 422


def test_match_log_filters_and_links_review_items(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    inputs = build(env, tmp_path)
    everything = match_log(env.store, MatchQuery(), limit=100)
    assert len(everything) == len(inputs.matches)
    assert {r.review_item_id for r in everything} == {i for _, _, _, i in inputs.matches}
    beta = match_log(env.store, MatchQuery(bank="beta"))
    assert len(beta) == sum(b == "beta" for b, _, _, _ in inputs.matches)
    value = f"{0xB1:032x}"
    [hit] = match_log(env.store, MatchQuery(hash=value.upper()))
    assert hit.bank == "beta"
    assert match_log(env.store, MatchQuery(since=datetime.now(UTC) + timedelta(hours=1))) == []
    admin = _client(env, "ada", Role.ADMIN)
    page = admin.get("/matches", params={"hash": value, "bank": "beta", "verdict": "review"})
    assert page.status_code == 200
    links = lxml.html.fromstring(page.text).xpath('//table[@id="matches"]//a[@class="review-link"]/@href')
    assert links == [f"/review/items/{hit.review_item_id}"]
    by_content = admin.get("/matches", params={"content": str(hit.content_id)}).text
    assert by_content.count('class="review-link"') == 1
    result = CliRunner().invoke(
        main, ["matches", "--hash", value, "--json"], env={"OHSC_HOME": str(env.settings.home)}
    )
    assert result.exit_code == 0, result.output
    assert [r["review_item_id"] for r in json.loads(result.output)] == [hit.review_item_id]


def test_audit_search_and_page(env: Env, tmp_path: Path) -> None:
    build(env, tmp_path)
    reveals = search_events(env.store, AuditQuery(action="media.reveal"))
    assert len(reveals) == 3 and {e.actor for e in reveals} == {"user:alice", "user:bob"}
    assert {e.action for e in search_events(env.store, AuditQuery(action="review.*"))} >= {"review.decide"}
    assert all(e.actor == "user:bob" for e in search_events(env.store, AuditQuery(actor="user:bob")))
    assert search_events(env.store, AuditQuery(text="100% nothing_like_this")) == []
    held = search_events(env.store, AuditQuery(action="media.reveal", text="hold"))
    assert len(held) == 1
    auditor = _client(env, "audrey", Role.AUDITOR)
    page = auditor.get("/audit", params={"actor": "user:alice", "action": "media.reveal"}).text
    rows = _cells(page, '//table[@id="audit-events"]/tbody/tr')
    assert len(rows) == 2
    assert all(r[2].startswith("alice (user): Media revealed — review item") for r in rows)
    assert "Chain status" in page
    subject = rows[0][2].rsplit(" ", 1)[-1]
    one = auditor.get(
        "/audit", params={"subject": f"review_item:{subject}", "since": str(datetime.now(UTC).date())}
    )
    assert "No event fits" not in one.text


def test_reviewer_reaches_no_figures(sqlite_env: Env) -> None:
    reviewer = _client(sqlite_env, "rita", Role.REVIEWER)
    for path in ("/dashboard", "/transparency", "/transparency?format=csv", "/matches"):
        assert reviewer.get(path).status_code == 403, path
    auditor = _client(sqlite_env, "audrey", Role.AUDITOR)
    assert auditor.get("/dashboard").status_code == 200
    assert auditor.get("/matches").status_code == 403  # rows link to review items auditors cannot open
    nav = auditor.get("/audit").text
    assert 'href="/dashboard"' in nav and 'href="/matches"' not in nav


def test_every_transparency_definition_is_in_the_docs() -> None:
    from ohsc.figures.transparency import DEFINITIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text(encoding="utf-8")
    for metric, text in DEFINITIONS.items():
        assert f"| `{metric}` | {text} |" in doc, metric
