"""Report fields are checked one by one, the same way in the library, the CLI, the API and the form
(issue 11, item 2): incident and profile URLs are http(s) web addresses (``javascript:`` and free
text were filed to the CyberTipline as typed), IPs, ports, e-mails and times are checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from ohsc.errors import InvalidInputError, ReportValidationError
from ohsc.reports import fields
from ohsc.reports.tables import ReportFileRow, ReportRow
from ohsc.store.db import Store
from ohsc.web.ui.report_form import build_patch
from tests.reporting_support import body, make_report, make_settings, service

GOOD_URLS = [
    "https://example.org/p/1",
    "http://example.org",
    "https://sub.example.org:8443/a?b=c#d",
    "https://[2001:db8::1]/x",
    "https://198.51.100.7/x",
    "https://bücher.example/x",
]
BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,hello",
    "file:///etc/passwd",
    "see the chat log",
    "example.org/p/1",
    "//example.org/p/1",
    "https://",
    "https://exa mple.org/",
    "https://example.org/a b",
    "ftp://example.org/file",
    "https://exa_mple.org/",
    "https://example.org:port/",
    "https://example.org/\x00",
]


@pytest.mark.parametrize("url", GOOD_URLS)
def test_web_addresses_are_accepted(url: str) -> None:
    assert fields.http_url(url) == url


@pytest.mark.parametrize("url", BAD_URLS)
def test_what_is_not_a_web_address_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"web address|host") as info:
        fields.http_url(url)
    assert len(str(info.value)) < 200


def test_javascript_urls_say_why() -> None:
    with pytest.raises(ValueError, match=r"only http:// and https://.*javascript: is refused"):
        fields.http_url("javascript:alert(1)")
    with pytest.raises(ValueError, match="starting with https://"):
        fields.http_url("see the chat log")


@pytest.mark.parametrize("value", ["someone@example.org", "a.b+c@sub.example.co.uk"])
def test_emails_are_accepted(value: str) -> None:
    assert fields.email(value) == value


@pytest.mark.parametrize(
    "value",
    ["someone", "@example.org", "someone@", "a@b", "a b@example.org", "a@@example.org", "a..b@example.org"],
)
def test_what_is_not_an_email_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not an e-mail address"):
        fields.email(value)


@pytest.mark.parametrize("value", ["0", "65536", "-1", "²", "80x", True])
def test_ports_out_of_range_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="1 to 65535"):
        fields.port(value)


def test_ports_and_ips() -> None:
    assert fields.port("443") == 443 and fields.port(65535) == 65535
    assert fields.ip_address(" 2001:DB8::1 ") == "2001:db8::1"
    with pytest.raises(ValueError, match="not an IPv4 or IPv6 address"):
        fields.ip_address("198.51.100.300")


def test_times_must_be_plausible() -> None:
    with pytest.raises(ValueError, match="check the year"):
        fields.moment(datetime(202, 3, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="in the future"):
        fields.moment(datetime.now(UTC) + timedelta(days=2))


# --- the same checks in the service (CLI, API and form all save through it) ---------------------


@pytest.mark.parametrize(
    ("patch", "where", "words"),
    [
        ({"incident": {"urls": ["javascript:alert(1)"]}}, "incident.urls.0", "javascript: is refused"),
        ({"incident": {"urls": ["https://ok.example", "free text"]}}, "incident.urls.1", "https://"),
        (
            {"accounts": [{"profile_urls": ["javascript:void(0)"]}]},
            "accounts.0.profile_urls.0",
            "web address",
        ),
        ({"accounts": [{"emails": ["nobody"]}]}, "accounts.0.emails.0", "e-mail"),
        ({"accounts": [{"ip_events": [{"ip": "1.2.3"}]}]}, "accounts.0.ip_events.0.ip", "IPv4"),
        (
            {"accounts": [{"ip_events": [{"ip": "1.2.3.4", "port": 0}]}]},
            "accounts.0.ip_events.0.port",
            "65535",
        ),
        ({"incident": {"at": "3026-01-01T00:00:00Z"}}, "incident.at", "future"),
        ({"incident": {"at": "2026-01-01"}}, "incident.at", "time zone"),
        ({"reporting_person": {"email": "a@b"}}, "reporting_person.email", "e-mail"),
    ],
)
def test_the_service_refuses_each_field_with_its_path(
    sqlite_store: Store, tmp_path: Path, patch: dict[str, object], where: str, words: str
) -> None:
    svc = service(sqlite_store, make_settings(tmp_path))
    rid = svc.create_draft(body()).report.id
    with pytest.raises(InvalidInputError) as info:
        svc.update(rid, patch)
    problems = cast(dict[str, str], info.value.detail["fields"])
    assert where in problems, problems
    assert words in problems[where]
    with pytest.raises(InvalidInputError):
        svc.create_draft(body(**patch))


def test_a_file_location_must_be_a_web_address(sqlite_store: Store, tmp_path: Path) -> None:
    svc = service(sqlite_store, make_settings(tmp_path))
    rid = make_report(svc, files=1)
    fid = svc.get(rid).files[0].id
    with pytest.raises(InvalidInputError, match="location_url"):
        svc.update_file(rid, fid, {"location_url": "javascript:alert(1)"})


def test_a_draft_saved_before_the_checks_opens_but_cannot_be_submitted(
    sqlite_store: Store, tmp_path: Path
) -> None:
    svc = service(sqlite_store, make_settings(tmp_path))
    rid = make_report(svc, files=1)
    saved = svc.get(rid).body.model_dump(mode="json", exclude_none=True)
    saved["incident"]["urls"] = ["javascript:alert(1)"]
    with sqlite_store.session() as s:  # as an earlier version of OHSC saved it
        s.execute(update(ReportRow).where(ReportRow.id == rid).values(body=saved))
    result = svc.check(rid)  # it opens
    assert result.report.body.incident.urls == ["javascript:alert(1)"]
    assert any(p.field == "incident.urls.0" and p.severity == "error" for p in result.problems)
    with pytest.raises(ReportValidationError, match=r"incident\.urls\.0"):
        svc.submit(rid)


def test_the_cli_refuses_a_javascript_url(tmp_path: Path) -> None:
    from ohsc.cli import main

    draft = tmp_path / "draft.json"
    draft.write_text(
        json.dumps(body(incident={"type": "child_pornography", "urls": ["javascript:alert(1)"]}))
    )
    runner = CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})
    result = runner.invoke(main, ["report", "draft", "--from", str(draft)])
    assert result.exit_code != 0
    assert "incident.urls.0" in result.output and "javascript: is refused" in result.output


# --- the form: refused values are named, good ones kept, nothing dropped silently ---------------


def test_the_form_keeps_good_rows_when_several_are_refused(sqlite_store: Store, tmp_path: Path) -> None:
    """Refused rows were dropped in the order pydantic listed them, so dropping row 0 moved the
    others up and the next drop took a good row; the good row was lost without a word."""
    svc = service(sqlite_store, make_settings(tmp_path))
    rid = svc.create_draft(body()).report.id
    pairs = [("version", "1"), ("accounts.0.screen_name", "placeholder-user")]
    for i, ip in enumerate(["1.2.3", "300.1.1.1", "198.51.100.7"]):
        pairs += [(f"accounts.0.ip_events.{i}.ip", ip), (f"accounts.0.ip_events.{i}.port", "")]
    patch = build_patch(pairs, svc.get(rid))
    assert set(patch.errors) == {"accounts.0.ip_events.0.ip", "accounts.0.ip_events.1.ip"}
    assert [e["ip"] for e in patch.body["accounts"][0]["ip_events"]] == ["198.51.100.7"]


def test_the_form_names_refused_lines_next_to_the_field(sqlite_store: Store, tmp_path: Path) -> None:
    svc = service(sqlite_store, make_settings(tmp_path))
    rid = svc.create_draft(body()).report.id
    urls = "https://example.org/ok\njavascript:alert(1)\nsee the chat log"
    patch = build_patch([("version", "1"), ("incident.urls", urls)], svc.get(rid))
    assert "javascript: is refused" in patch.errors["incident.urls"]
    assert "see the chat log" in patch.errors["incident.urls"]
    assert patch.body["incident"]["urls"] == ["https://example.org/ok"]


def test_a_file_edit_that_cannot_be_saved_says_so(sqlite_store: Store, tmp_path: Path) -> None:
    """A file whose saved facts are refused (saved before the checks) cannot take an edit: the edit
    was dropped without a word (or the save failed); now each edited field says why."""
    svc = service(sqlite_store, make_settings(tmp_path))
    rid = make_report(svc, files=1)
    facts = svc.get(rid).files[0].facts.model_dump(mode="json", exclude_none=True)
    with sqlite_store.session() as s:  # as an earlier version of OHSC saved it
        s.execute(
            update(ReportFileRow)
            .where(ReportFileRow.report_id == rid)
            .values(facts={**facts, "location_url": "javascript:alert(1)"})
        )
    patch = build_patch([("version", "1"), ("files.0.file_name", "renamed.jpg")], svc.get(rid))
    assert patch.files == {}
    assert "files.0.location_url" in patch.errors
    assert patch.errors["files.0.file_name"].startswith("not saved: fix these first")
