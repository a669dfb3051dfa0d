"""Every report destination against one contract, then what the signed packages hold."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ohsc.errors import ConfigError, ReportStateError
from ohsc.reports.destinations import DESTINATIONS
from ohsc.reports.ncmec.fake_server import FakeCyberTipline
from ohsc.reports.signing import Signer, load_or_create, public_key_b64, public_key_from_b64, verify_package
from ohsc.reports.tables import SubmissionRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.reporting_support import ADMIN, image_bytes, make_report, make_settings, ncmec_schema, service

ALL = sorted(DESTINATIONS)


@pytest.fixture
def fake() -> Iterator[FakeCyberTipline]:
    with FakeCyberTipline(schema_path=ncmec_schema()) as server:
        yield server


def _settings(tmp_path: Path, name: str, fake: FakeCyberTipline, **extra: object) -> Settings:
    return make_settings(
        tmp_path,
        report_destinations={"*": [name]},
        ncmec_base_url=fake.url,
        ncmec_username="ohsc-test",
        ncmec_password="ohsc-test",
        **extra,
    )


# --- the contract ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_contract_submit_once_resume_noop_preview(
    store: Store, tmp_path: Path, fake: FakeCyberTipline, name: str
) -> None:
    settings = _settings(tmp_path, name, fake)
    svc = service(store, settings)
    rid = make_report(svc, files=2)
    dest = svc.destination(name)
    snap = svc.get(rid)
    assert dest.name == name
    assert dest.title
    assert isinstance(dest.problems(snap, svc.provider), list)
    docs = dest.preview(snap, svc.provider)
    assert docs
    assert all(isinstance(v, bytes) and v for v in docs.values())
    result = svc.submit(rid)
    assert result.filed
    (sub,) = result.submissions
    assert sub.destination == name
    assert sub.state == "finished"
    assert sub.remote_id
    assert svc.submit(rid).submissions == result.submissions  # nothing happens twice
    with store.session() as s:
        assert s.scalar(select(SubmissionRow.attempts).where(SubmissionRow.report_id == rid)) <= 1


@pytest.mark.parametrize("name", ALL)
def test_contract_retract_before_and_after_sending(
    store: Store, tmp_path: Path, fake: FakeCyberTipline, name: str
) -> None:
    settings = _settings(tmp_path, name, fake)
    svc = service(store, settings)
    rid = make_report(svc, files=1)
    svc.submit(rid)
    dest = svc.destination(name)
    blocked = dest.cannot_retract("finished", "x")
    if blocked:  # NCMEC: a finished report cannot be withdrawn
        assert "NCMEC" in blocked
        with pytest.raises(ReportStateError):
            svc.retract(rid, reason="placeholder reason")
    else:
        result = svc.retract(rid, reason="placeholder reason")
        assert result.report.status == "retracted"
        assert result.submissions[0].state == "retracted"
    assert dest.cannot_retract("pending", None) is None


# --- packages ----------------------------------------------------------------------------------


def test_packages_are_signed_and_verifiable(store: Store, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        report_destinations={"*": ["local-folder", "uk-nca", "eu-centre"]},
        report_outbox_dir=tmp_path / "outbox",
    )
    svc = service(store, settings)
    rid = make_report(svc, files=2, jurisdictions=["GB", "DE"])
    svc.submit(rid)
    public = Signer(load_or_create(None, settings.home)).public
    for name in ("local-folder", "uk-nca", "eu-centre"):
        path = tmp_path / "outbox" / name / f"report-{rid}.json"
        check = verify_package(path, public)
        assert check.ok, check.message
        doc = json.loads(path.read_bytes())
        assert doc["signer"]["key_id"] == check.key_id
        assert doc["destination"] == name
        assert next(c["evidence_key"] for c in doc["content"]).startswith(f"report:{rid}:file:")
        assert path.stat().st_mode & 0o077 == 0
    tampered = tmp_path / "outbox" / "uk-nca" / f"report-{rid}.json"
    tampered.write_bytes(tampered.read_bytes().replace(b"Example", b"Exampl3"))
    assert not verify_package(tampered, public).ok
    other = Signer(load_or_create(base64.b64encode(bytes(32)).decode(), tmp_path)).public
    assert "not" in verify_package(tmp_path / "outbox" / "eu-centre" / f"report-{rid}.json", other).message
    assert public_key_from_b64(public_key_b64(public)) is not None


def test_uk_profile_fields(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, report_destinations={"GB": ["uk-nca"]})
    svc = service(store, settings)
    rid = make_report(
        svc, files=1, jurisdictions=["GB"], escalation={"imminent_danger": True, "reason": "placeholder"}
    )
    payload = json.loads(svc.preview(rid, "uk-nca")[f"report-{rid}.json"])["payload"]
    assert payload["uk_linked"] is True
    assert payload["priority"] == {"urgent": True, "reason": "placeholder"}
    assert payload["authorised_person"]["email"] == "safety@example.org"
    assert payload["content"][0]["viewed_by_provider"] is True
    assert payload["users"][0]["ip_events"][0]["port"] == 51234
    assert "Online Safety Act 2023, s.66" in payload["legal_basis"]


def test_eu_profile_has_the_article_13_fields(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, report_destinations={"EU": ["eu-centre"]})
    svc = service(store, settings)
    rid = make_report(svc, files=1, jurisdictions=["FR"])
    payload = json.loads(svc.preview(rid, "eu-centre")[f"report-{rid}.json"])["payload"]
    assert set(payload) >= {
        "provider",
        "date_time",
        "content_data",
        "other_data",
        "content_kind",
        "geographic_data",
        "users",
        "reported_to_third_country_authorities",
        "content_removed",
        "urgency",
    }
    assert payload["content_kind"] == "known"
    assert payload["content_removed"] is True
    assert payload["geographic_data"]["ip_events"][0]["ip"] == "198.51.100.7"
    assert payload["content_data"][0]["hashes"]["sha256"]


def test_eu_and_uk_say_what_they_lack(store: Store, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, report_destinations={"*": ["eu-centre", "uk-nca"]}, report_contact_first_name=None
    )
    svc = service(store, settings)
    rid = make_report(
        svc,
        files=1,
        jurisdictions=["US"],
        incident={"type": "child_pornography", "at": "2026-01-01T00:00:00Z"},
    )
    problems = {(p.destination, p.field): p for p in svc.check(rid).problems}
    assert "Art. 13(1)(e)" in problems[("eu-centre", "incident.content_kind")].message
    assert problems[("eu-centre", "incident.content_removed")].severity == "error"
    assert problems[("uk-nca", "reporting_person")].severity == "error"
    assert problems[("uk-nca", "jurisdictions")].severity == "warning"


def test_a_rewritten_package_has_the_same_bytes(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    svc = service(store, settings)
    rid = make_report(svc, files=1)
    first = svc.preview(rid, "local-folder")
    assert svc.preview(rid, "local-folder") == first


def test_embedded_content(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, report_package_content="embed")
    svc = service(store, settings)
    rid = svc.create_draft(
        {"jurisdictions": ["US"], "incident": {"type": "child_pornography", "at": "2026-01-01T00:00:00Z"}}
    ).report.id
    data = image_bytes(7)
    svc.add_file(rid, data=data, viewed_by_human=True, exif_viewed_by_human=True, review_ref="r")
    svc.submit(rid)
    doc = json.loads((settings.home / "outbox" / "local-folder" / f"report-{rid}.json").read_bytes())
    assert base64.b64decode(doc["content"][0]["content_base64"]) == data


def test_a_retraction_is_a_signed_package_naming_the_first(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, report_destinations={"*": ["uk-nca"]})
    svc = service(store, settings, ADMIN)
    rid = make_report(svc, files=1, jurisdictions=["GB"])
    first = svc.submit(rid).submissions[0]
    svc.retract(rid, reason="placeholder reason")
    path = settings.home / "outbox" / "uk-nca" / f"report-{rid}.retraction.json"
    doc = json.loads(path.read_bytes())
    assert doc["retracts"] == {"package": first.remote_id, "sha256": first.receipt["sha256"]}
    assert verify_package(path, Signer(load_or_create(None, settings.home)).public).ok


def test_signing_key_from_settings_and_bad_keys(tmp_path: Path) -> None:
    raw = base64.b64encode(bytes(range(32))).decode()
    assert Signer(load_or_create(raw, tmp_path)).key_id == Signer(load_or_create(raw, tmp_path / "x")).key_id
    with pytest.raises(ConfigError):
        load_or_create("not base64!", tmp_path)
    with pytest.raises(ConfigError):
        load_or_create(base64.b64encode(b"short").decode(), tmp_path)
    created = load_or_create(None, tmp_path / "home")
    assert (tmp_path / "home" / "report-signing.key").stat().st_mode & 0o077 == 0
    assert Signer(load_or_create(None, tmp_path / "home")).key_id == Signer(created).key_id


def test_unknown_destinations_in_settings_are_a_config_error(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path, report_destinations={"*": ["carrier-pigeon"]}))
    rid = make_report(svc, files=1)  # drafts are still saved
    problems = {p.field: p.message for p in svc.check(rid).problems}
    assert "carrier-pigeon" in problems["configuration"]
    with pytest.raises(ConfigError, match="carrier-pigeon"):
        svc.submit(rid)


def test_ncmec_without_configuration_is_refused_before_anything_is_sent(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path, report_destinations={"*": ["ncmec"]}))
    rid = make_report(svc, files=1)
    with pytest.raises(ConfigError, match="OHSC_NCMEC_BASE_URL"):
        svc.submit(rid)
    assert svc.get(rid).status == "draft"


def test_ncmec_needs_the_review_facts(store: Store, tmp_path: Path, fake: FakeCyberTipline) -> None:
    svc = service(store, _settings(tmp_path, "ncmec", fake))
    rid = svc.create_draft(
        {"jurisdictions": ["US"], "incident": {"type": "child_pornography", "at": "2026-01-01T00:00:00Z"}}
    ).report.id
    svc.add_file(rid, data=image_bytes(8), viewed_by_human=None, exif_viewed_by_human=None, review_ref=None)
    problems = {p.field: p for p in svc.check(rid).problems if p.destination == "ncmec"}
    assert problems["files.0.viewed_by_human"].severity == "error"
    assert "warrant" in problems["files.0.viewed_by_human"].message
    assert problems["files.0.exif_viewed_by_human"].severity == "warning"
    with pytest.raises(Exception, match="viewed_by_human"):
        svc.submit(rid)
    assert fake.calls == []
