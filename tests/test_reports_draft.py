"""Report drafts: incremental saves, field validation, review facts, completeness, access, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ohsc.errors import ConflictError, InvalidInputError, PermissionDeniedError, ReportStateError
from ohsc.reports.destinations import destinations_for
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent
from tests.reporting_support import (
    ADMIN,
    NOBODY,
    REVIEWER,
    body,
    image_bytes,
    make_report,
    make_settings,
    service,
)


def _errors(problems: list) -> dict[str, str]:
    return {p.field: p.message for p in problems if p.severity == "error"}


def test_an_empty_draft_saves_and_lists_what_is_missing(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    result = svc.create_draft()
    missing = _errors(result.problems)
    assert set(missing) >= {"jurisdictions", "incident.type", "incident.at"}
    assert "country codes" in missing["jurisdictions"]
    assert result.report.status == "draft"
    assert result.report.version == 1


def test_drafts_are_saved_field_by_field(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = svc.create_draft().report.id
    svc.update(rid, {"jurisdictions": ["us", "UK"]})
    svc.update(rid, {"incident": {"type": "child_pornography"}})
    result = svc.update(
        rid, {"incident": {"at": "2026-03-01T10:00:00+01:00", "urls": ["https://example.org/a"]}}
    )
    snap = result.report
    assert snap.body.jurisdictions == ["US", "GB"]
    assert snap.body.incident.type == "child_pornography"  # kept from the earlier save
    assert snap.body.incident.at is not None
    assert snap.body.incident.at.utcoffset() is not None
    assert snap.version == 4
    cleared = svc.update(rid, {"incident": {"urls": []}}).report
    assert cleared.body.incident.urls == []


def test_invalid_fields_are_named_with_a_clear_message_and_nothing_is_lost(
    store: Store, tmp_path: Path
) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = svc.create_draft(body()).report.id
    bad = {
        "incident": {"at": "yesterday", "type": "something-else"},
        "accounts": [{"ip_events": [{"ip": "999.1.1.1", "port": 70000}]}],
        "jurisdictions": ["Narnia"],
    }
    with pytest.raises(InvalidInputError) as info:
        svc.update(rid, bad)
    fields = info.value.detail["fields"]
    assert "incident.at" in fields
    assert "incident.type" in fields
    assert "not an IPv4 or IPv6 address" in fields["accounts.0.ip_events.0.ip"]
    assert "accounts.0.ip_events.0.port" in fields
    assert "not a country code" in fields["jurisdictions"]
    assert svc.get(rid).body.incident.type == "child_pornography"  # the draft is unchanged


def test_naive_times_and_unknown_fields_are_refused(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = svc.create_draft().report.id
    with pytest.raises(InvalidInputError) as info:
        svc.update(rid, {"incident": {"at": "2026-03-01T10:00:00"}})
    assert "time zone" in info.value.detail["fields"]["incident.at"]
    with pytest.raises(InvalidInputError) as info:
        svc.update(rid, {"incidnet": {}})
    assert info.value.detail["fields"] == {"incidnet": "unknown field"}


def test_two_editors_do_not_overwrite_each_other(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    draft = svc.create_draft(body()).report
    svc.update(draft.id, {"additional_info": "first"}, expected_version=draft.version)
    with pytest.raises(ConflictError, match="changed by someone else"):
        svc.update(draft.id, {"additional_info": "second"}, expected_version=draft.version)


def test_review_facts_are_required_inputs_and_not_editable(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = svc.create_draft(body()).report.id
    with pytest.raises(TypeError):
        svc.add_file(rid, data=image_bytes(1), review_ref=None)  # type: ignore[call-arg]
    f = svc.add_file(
        rid, data=image_bytes(1), viewed_by_human=None, exif_viewed_by_human=None, review_ref=None
    )
    assert f.viewed_by_human is None
    assert f.exif_viewed_by_human is None
    with pytest.raises(InvalidInputError, match="review record"):
        svc.update_file(rid, f.id, {"viewed_by_human": True})
    with pytest.raises(InvalidInputError, match="true, false or null"):
        svc.add_file(
            rid, data=image_bytes(2), viewed_by_human="yes", exif_viewed_by_human=None, review_ref=None
        )  # type: ignore[arg-type]
    updated = svc.record_review(
        rid, f.id, viewed_by_human=True, exif_viewed_by_human=False, review_ref="decision-9"
    )
    assert (updated.viewed_by_human, updated.exif_viewed_by_human, updated.review_ref) == (
        True,
        False,
        "decision-9",
    )


def test_files_get_hashes_and_default_original_hashes(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = svc.create_draft(body()).report.id
    data = image_bytes(3)
    f = svc.add_file(
        rid, data=data, file_name="x.jpg", viewed_by_human=True, exif_viewed_by_human=True, review_ref="r"
    )
    import hashlib

    assert f.sha256 == hashlib.sha256(data).hexdigest()
    assert f.md5 == hashlib.md5(data).hexdigest()
    assert [h.type for h in f.facts.original_hashes] == ["MD5", "SHA1", "SHA256"]
    with pytest.raises(ConflictError, match="already has this file"):
        svc.add_file(rid, data=data, viewed_by_human=True, exif_viewed_by_human=True, review_ref="r")
    given = svc.add_file(
        rid,
        data=image_bytes(4),
        viewed_by_human=True,
        exif_viewed_by_human=True,
        review_ref="r",
        facts={"original_hashes": [{"type": "md5", "value": "0" * 32}]},
    )
    assert [(h.type, h.value) for h in given.facts.original_hashes] == [("md5", "0" * 32)]
    assert svc.content(f) == data


def test_file_facts_are_validated(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = make_report(svc, files=1)
    fid = svc.get(rid).files[0].id
    with pytest.raises(InvalidInputError) as info:
        svc.update_file(rid, fid, {"industry_classification": "C3", "relevance": "maybe"})
    assert set(info.value.detail["fields"]) == {"files.0.industry_classification", "files.0.relevance"}


def test_completeness_rules(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = make_report(svc, files=1)
    assert not _errors(svc.check(rid).problems)
    fid = svc.get(rid).files[0].id
    problems = _errors(svc.update_file(rid, fid, {"industry_classification": "A1"}).problems)
    assert "signatories" in problems["files.0.industry_classification"]
    svc.update_file(rid, fid, {"industry_classification": None})
    problems = _errors(svc.update(rid, {"escalation": {"imminent_danger": True}}).problems)
    assert "imminent danger" in problems["escalation.reason"]
    svc.update(rid, {"escalation": {"reason": "placeholder reason"}})
    problems = _errors(svc.update(rid, {"accounts": [{"relation": "reported"}]}).problems)
    assert "at least one identifier" in problems["accounts.0"]
    svc.remove_file(rid, fid)
    assert "needs the file" in _errors(svc.check(rid).problems)["files"]


def test_signatories_may_classify_reported_files_only(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path, report_industry_classification=True))
    rid = make_report(svc, files=1)
    fid = svc.get(rid).files[0].id
    assert not _errors(svc.update_file(rid, fid, {"industry_classification": "B2"}).problems)
    problems = _errors(svc.update_file(rid, fid, {"relevance": "supplemental"}).problems)
    assert "relevance 'reported'" in problems["files.0.industry_classification"]


def test_destinations_follow_the_jurisdictions(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        report_destinations={"US": ["ncmec"], "GB": ["uk-nca"], "EU": ["eu-centre"], "*": ["local-folder"]},
    )
    assert destinations_for(settings, ["US"]) == ["ncmec"]
    assert destinations_for(settings, ["DE", "US"]) == ["eu-centre", "ncmec"]
    assert destinations_for(settings, ["gb", "FR", "JP"]) == ["uk-nca", "eu-centre", "local-folder"]
    assert destinations_for(make_settings(tmp_path), ["BR"]) == ["local-folder"]


def test_a_draft_without_a_destination_says_so(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path, report_destinations={"US": ["local-folder"]}))
    rid = make_report(svc, files=1, jurisdictions=["JP"])
    assert "no destination is configured for JP" in _errors(svc.check(rid).problems)["jurisdictions"]


def test_default_jurisdictions_come_from_settings(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path, report_default_jurisdictions=["GB"]))
    assert svc.create_draft().report.body.jurisdictions == ["GB"]


def test_roles_decide_who_drafts_and_who_submits(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    reviewer = service(store, settings, REVIEWER)
    rid = make_report(reviewer, files=1)  # reviewers draft (confirmed decisions create drafts)
    with pytest.raises(PermissionDeniedError, match="submit reports"):
        reviewer.submit(rid)
    with pytest.raises(PermissionDeniedError):
        service(store, settings, NOBODY).get(rid)
    with store.session() as s:
        denied = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "report.denied")))
    assert {d.actor for d in denied} == {"test:reviewer", "test:nobody"}


def test_audit_names_fields_never_values(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = svc.create_draft().report.id
    svc.update(rid, {"accounts": [{"screen_name": "placeholder-secret-name"}]})
    with store.session() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.object_id == str(rid))))
    update = next(e for e in events if e.action == "report.update")
    assert update.details["fields"] == ["accounts"]
    assert "placeholder-secret-name" not in repr([e.details for e in events])


def test_discard_deletes_the_draft_and_its_content(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = make_report(svc, files=1)
    f = svc.get(rid).files[0]
    assert f.content_blob_id is not None
    assert svc.blobs.exists("reports", f.content_blob_id)
    svc.discard(rid)
    assert not svc.blobs.exists("reports", f.content_blob_id)
    assert svc.summaries() == []


def test_a_submitted_report_cannot_be_edited(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = make_report(svc, files=1)
    assert svc.submit(rid).filed
    with pytest.raises(ReportStateError, match="only drafts"):
        svc.update(rid, {"additional_info": "late"})
    with pytest.raises(ReportStateError):
        svc.discard(rid)


def test_listing_reports(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path), ADMIN)
    first = make_report(svc, files=1)
    second = make_report(svc, files=2, seed=1)
    svc.submit(first)
    rows = svc.summaries()
    assert [r.id for r in rows] == [second, first]
    assert [r.id for r in svc.summaries(status="filed")] == [first]
    assert rows[1].destinations == (("local-folder", "finished", f"report-{first}.json"),)
    with pytest.raises(InvalidInputError):
        svc.summaries(status="unknown")
