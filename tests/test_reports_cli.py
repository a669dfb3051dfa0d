"""``ohsc report`` and ``ohsc evidence`` end to end, against the local fake CyberTipline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ohsc.cli import main
from ohsc.reports.ncmec.fake_server import FakeCyberTipline
from ohsc.settings import get_settings
from tests.reporting_support import image_bytes, ncmec_schema


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCyberTipline]:
    with FakeCyberTipline(schema_path=ncmec_schema()) as server:
        for key, value in {
            "OHSC_REPORT_DESTINATIONS": '{"US": ["ncmec"], "GB": ["uk-nca"], "*": ["local-folder"]}',
            "OHSC_NCMEC_BASE_URL": server.url,
            "OHSC_NCMEC_USERNAME": "ohsc-test",
            "OHSC_NCMEC_PASSWORD": "ohsc-test",
            "OHSC_REPORT_CONTACT_EMAIL": "safety@example.org",
            "OHSC_REPORT_CONTACT_FIRST_NAME": "Sam",
            "OHSC_REPORT_CONTACT_LAST_NAME": "Placeholder",
        }.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        yield server


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def said(result: Result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _draft_file(tmp_path: Path, **overrides: object) -> Path:
    (tmp_path / "a.jpg").write_bytes(image_bytes(11))
    (tmp_path / "b.jpg").write_bytes(image_bytes(12))
    doc = {
        "jurisdictions": ["US"],
        "incident": {
            "type": "child_pornography",
            "at": "2026-03-01T10:00:00Z",
            "urls": ["https://example.org/p"],
        },
        "accounts": [
            {
                "esp_user_id": "user-1",
                "ip_events": [
                    {"ip": "198.51.100.7", "port": 443, "event": "upload", "at": "2026-03-01T09:58:00Z"}
                ],
            }
        ],
        "matched_at": "2026-03-01T10:05:00Z",
        "files": [
            {
                "path": "a.jpg",
                "viewed_by_human": True,
                "exif_viewed_by_human": False,
                "review_ref": "d-1",
                "uploaded_at": "2026-03-01T09:58:00Z",
            },
            {
                "path": "b.jpg",
                "viewed_by_human": True,
                "exif_viewed_by_human": True,
                "review_ref": "d-2",
                "uploaded_at": "2026-03-01T09:58:00Z",
            },
        ],
    }
    doc.update(overrides)
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(doc))
    return path


def test_draft_submit_show_list_stats(tmp_path: Path, fake: FakeCyberTipline) -> None:
    created = run("report", "draft", "--from", str(_draft_file(tmp_path)))
    assert created.exit_code == 0, created.output
    assert "created draft report 1" in said(created)
    assert "ready to submit" in said(created)
    preview = run("report", "show", "1", "--preview", "ncmec")
    assert "<incidentType>Child Pornography" in said(preview)
    assert "fileDetails-2.xml" in said(preview)
    submitted = run("report", "submit", "1", "--yes")
    assert submitted.exit_code == 0, submitted.output
    assert "ncmec: finished (1000)" in said(submitted)
    assert "report 1 is filed" in said(submitted)
    assert len(fake.finished()) == 1
    shown = json.loads(run("report", "show", "1", "--json").output)
    assert shown["report"]["status"] == "filed"
    assert shown["submissions"][0]["remote_id"] == "1000"
    listed = [json.loads(line) for line in run("report", "list", "--json").output.splitlines()]
    assert listed[0]["destinations"] == [{"name": "ncmec", "state": "finished", "remote_id": "1000"}]
    csv_out = run("report", "stats", "--csv", "-").output
    assert "files_reported,,2" in csv_out
    retracted = run("report", "retract", "1", "--reason", "placeholder")
    assert retracted.exit_code == 5
    assert "does not allow a finished report" in said(retracted)
    assert run("audit", "verify").exit_code == 0


def test_review_facts_must_be_given(tmp_path: Path, fake: FakeCyberTipline) -> None:
    path = _draft_file(tmp_path, files=[{"path": "a.jpg", "review_ref": "d-1"}])
    result = run("report", "draft", "--from", str(path))
    assert result.exit_code == 2
    assert "viewed_by_human and exif_viewed_by_human must be given from the review record" in said(result)
    assert "never assumed" in said(result)
    assert said(run("report", "list")).startswith("no reports yet")


def test_invalid_drafts_are_explained(tmp_path: Path, fake: FakeCyberTipline) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run("report", "draft", "--from", str(bad))
    assert result.exit_code == 2
    assert "not valid JSON" in said(result)
    path = _draft_file(tmp_path, incident={"type": "child_pornography", "at": "soon"})
    result = run("report", "draft", "--from", str(path))
    assert result.exit_code == 2
    assert "incident.at" in said(result)
    incomplete = _draft_file(tmp_path, incident={"type": "child_pornography"}, files=[])
    created = run("report", "draft", "--from", str(incomplete))
    assert created.exit_code == 0
    assert "incident.at: give the date and time" in said(created)
    refused = run("report", "submit", "1", "--yes")
    assert refused.exit_code == 2
    assert "is not ready" in said(refused)
    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"incident": {"at": "2026-03-01T10:00:00Z"}, "jurisdictions": ["JP"]}))
    updated = run("report", "update", "1", "--from", str(patch))
    assert updated.exit_code == 0
    assert "version 2" in said(updated)


def test_evidence_commands(tmp_path: Path, fake: FakeCyberTipline) -> None:
    assert run("report", "draft", "--from", str(_draft_file(tmp_path, jurisdictions=["GB"]))).exit_code == 0
    assert run("report", "submit", "1", "--yes").exit_code == 0
    items = [json.loads(line) for line in run("evidence", "list", "--json").output.splitlines()]
    assert sorted(i["kind"] for i in items) == ["document", "file", "file", "record"]
    file_id = next(i["id"] for i in items if i["kind"] == "file")
    held = run(
        "evidence", "hold", "--report", "1", "--reason", "placeholder process", "--until", "2099-01-01"
    )
    assert held.exit_code == 0
    assert said(held).count("hold ") == 4
    shown = run("evidence", "show", str(file_id))
    assert "placeholder process" in said(shown)
    assert run("evidence", "release", "1", "--reason", "closed").exit_code == 0
    assert "would purge 0 item(s)" in said(run("evidence", "purge", "--dry-run"))
    target = tmp_path / "exported.bin"
    assert run("evidence", "export", str(file_id), "--to", str(target)).exit_code == 0
    assert target.read_bytes() in {image_bytes(11), image_bytes(12)}
    assert run("evidence", "hold", "--reason", "x").exit_code == 2


def test_cli_roles_limit_evidence(
    tmp_path: Path, fake: FakeCyberTipline, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("report", "draft", "--from", str(_draft_file(tmp_path)))
    run("report", "submit", "1", "--yes")
    monkeypatch.setenv("OHSC_CLI_ROLES", '["reporter"]')
    listed = run("evidence", "list")
    assert listed.exit_code == 0
    denied = run("evidence", "export", "1", "--to", str(tmp_path / "x.bin"))
    assert denied.exit_code == 6
    assert "evidence_custodian" in said(denied)
    assert not (tmp_path / "x.bin").exists()


def test_packages_and_keys(tmp_path: Path, fake: FakeCyberTipline) -> None:
    run("report", "draft", "--from", str(_draft_file(tmp_path, jurisdictions=["DE"])))
    assert run("report", "submit", "1", "--yes").exit_code == 0
    key = run("report", "signing-key").output
    assert "Ed25519" in key
    public = key.split("public key")[1].strip()
    package = get_settings().home / "outbox" / "local-folder" / "report-1.json"
    ok = run("report", "verify-package", str(package), "--public-key", public)
    assert ok.exit_code == 0
    assert "signature valid" in said(ok)
    package.write_text(package.read_text().replace("example", "exampl3"))
    assert run("report", "verify-package", str(package)).exit_code == 2


def test_ncmec_check_and_fake_server_guard(fake: FakeCyberTipline) -> None:
    ok = run("report", "ncmec-check")
    assert ok.exit_code == 0
    assert "credentials accepted" in said(ok)
    refused = run("report", "fake-server", "--host", "0.0.0.0")  # noqa: S104
    assert refused.exit_code == 2
    assert "loopback" in said(refused)


def test_submit_shows_who_receives_what_and_asks_once(tmp_path: Path, fake: FakeCyberTipline) -> None:
    """It filed at once, unseen; now it names each authority and what it gets, and asks."""
    assert run("report", "draft", "--from", str(_draft_file(tmp_path))).exit_code == 0
    declined = CliRunner().invoke(main, ["report", "submit", "1"], input="n\n")
    assert declined.exit_code == 1  # a question answered no
    assert "NCMEC CyberTipline" in said(declined)
    assert "2 file(s) with their details: a.jpg, b.jpg" in said(declined)
    assert "file report 1 with NCMEC CyberTipline?" in said(declined)
    assert fake.calls == []
    assert json.loads(run("report", "show", "1", "--json").output)["report"]["status"] == "draft"
    accepted = CliRunner().invoke(main, ["report", "submit", "1"], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "report 1 is filed" in said(accepted)
    assert said(accepted).count("file report 1 with") == 1  # asked once


def test_apikey_create_takes_the_report_scope(tmp_path: Path) -> None:
    """The docs name the scope ``report``; ``ohsc apikey create --scope report`` refused it."""
    created = CliRunner().invoke(main, ["apikey", "create", "filer", "--scope", "report"])
    assert created.exit_code == 0, created.output
    listed = [json.loads(line) for line in run("apikey", "list", "--json").output.splitlines()]
    assert [k["scopes"] for k in listed if k["name"] == "filer"] == [["report"]]


def test_update_with_a_stale_version_saves_nothing(tmp_path: Path, fake: FakeCyberTipline) -> None:
    """``--version`` guarded the body only: file changes were saved over someone else's edit."""
    assert run("report", "draft", "--from", str(_draft_file(tmp_path))).exit_code == 0
    shown = json.loads(run("report", "show", "1", "--json").output)
    version, file_id = shown["report"]["version"], shown["report"]["files"][0]["id"]
    (tmp_path / "p1.json").write_text(json.dumps({"additional_info": "someone else"}))
    assert run("report", "update", "1", "--from", str(tmp_path / "p1.json")).exit_code == 0
    (tmp_path / "p2.json").write_text(json.dumps({"files": {str(file_id): {"file_name": "mine.jpg"}}}))
    stale = run("report", "update", "1", "--from", str(tmp_path / "p2.json"), "--version", str(version))
    assert stale.exit_code == 5 and "changed by someone else" in said(stale)
    after = json.loads(run("report", "show", "1", "--json").output)
    assert after["report"]["files"][0]["facts"]["file_name"] == "a.jpg"
    bad_url = tmp_path / "p3.json"
    bad_url.write_text(json.dumps({"incident": {"urls": ["javascript:alert(1)"]}}))
    refused = run("report", "update", "1", "--from", str(bad_url))
    assert refused.exit_code == 2 and "incident.urls.0" in said(refused)
