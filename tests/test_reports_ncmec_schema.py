"""Every CyberTipline document OHSC builds validates against NCMEC's own schema.

NCMEC's XSD (as ``GET /ispws/xsd`` serves it) is in ``../shared/reference/ncmec/cyber_tipline.xsd``;
these tests are skipped, saying so, where ``../shared`` is absent. The fake schema shipped with OHSC
(``fake_ispws.xsd``) accepted an ``<associatedAccount>`` without its required ``type`` attribute,
which NCMEC refuses: the fake schema now requires it too, and both are checked here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ohsc.reports import vocab
from ohsc.reports.ncmec.fake_server import SCHEMA_PATH, FakeCyberTipline
from ohsc.reports.ncmec.xml import SchemaCheck, build_file_details, build_report
from ohsc.reports.service import ReportService
from ohsc.store.db import Store
from tests.reporting_support import REAL_XSD, make_report, make_settings, ncmec_schema, service

needs_real_xsd = pytest.mark.skipif(
    not REAL_XSD.is_file(),
    reason=f"NCMEC's schema is not here ({REAL_XSD}): ../shared is absent on this machine",
)

SCHEMAS = [
    pytest.param(SCHEMA_PATH, id="fake-xsd"),
    pytest.param(REAL_XSD, id="ncmec-xsd", marks=needs_real_xsd),
]


def _check(schema: Path, document: bytes) -> None:
    problems = SchemaCheck(schema).problems(document)
    assert problems == [], document.decode()


def _svc(store: Store, tmp_path: Path) -> ReportService:
    return service(store, make_settings(tmp_path, report_industry_classification=True))


ACCOUNT: dict[str, Any] = {
    "esp_user_id": "user-1",
    "service": "Example app",
    "screen_name": "placeholder-user",
    "display_names": ["Placeholder One"],
    "profile_urls": ["https://example.org/u/1"],
    "emails": ["someone@example.org"],
    "compromised": False,
    "ip_events": [
        {
            "ip": "2001:db8::1",
            "port": 443,
            "event": "login",
            "at": "2026-02-01T08:00:00Z",
            "possible_proxy": True,
        }
    ],
    "device_ids": [{"kind": "IMEI", "value": "000000000000000", "event": "registration"}],
    "location": {"city": "Placeholder City", "region": "Placeholder Region", "country_code": "us"},
    "additional_info": "account note",
}


def _associated(kind: str | None = None) -> dict[str, Any]:
    acc: dict[str, Any] = {
        "relation": "associated",
        "esp_user_id": "user-2",
        "service": "Example app",
        "screen_name": "placeholder-alt",
        "display_names": ["Placeholder Alt"],
        "profile_urls": ["https://example.org/u/2"],
        "emails": ["other@example.org"],
        "ip_events": [{"ip": "198.51.100.9", "event": "upload", "at": "2026-02-02T08:00:00Z"}],
        "device_ids": [{"kind": "advertising-id", "value": "00000000-0000-0000-0000-000000000002"}],
        "additional_info": "associated note",
    }
    if kind is not None:
        acc["association"] = kind
    return acc


@pytest.mark.parametrize("schema", SCHEMAS)
def test_an_associated_account_carries_its_type(sqlite_store: Store, tmp_path: Path, schema: Path) -> None:
    """The defect: NCMEC's schema requires ``type`` on ``associatedAccount``; OHSC sent none."""
    svc = _svc(sqlite_store, tmp_path)
    rid = make_report(svc, files=0, accounts=[ACCOUNT, _associated()])
    xml = build_report(svc.get(rid), svc.provider)
    _check(schema, xml)
    node = etree.fromstring(xml).find("personOrUserReported/associatedAccount")
    assert node is not None
    assert node.get("type") == "Linked"  # another account of the same person


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("kind", sorted(vocab.NCMEC_ASSOCIATED_ACCOUNT_TYPES))
def test_every_association_type(sqlite_store: Store, tmp_path: Path, schema: Path, kind: str) -> None:
    svc = _svc(sqlite_store, tmp_path)
    rid = make_report(svc, files=0, accounts=[ACCOUNT, _associated(kind)])
    xml = build_report(svc.get(rid), svc.provider)
    _check(schema, xml)
    node = etree.fromstring(xml).find("personOrUserReported/associatedAccount")
    assert node is not None
    assert node.get("type") == vocab.NCMEC_ASSOCIATED_ACCOUNT_TYPES[kind]


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("incident_type", sorted(vocab.NCMEC_INCIDENT_TYPES))
def test_every_incident_type(sqlite_store: Store, tmp_path: Path, schema: Path, incident_type: str) -> None:
    svc = _svc(sqlite_store, tmp_path)
    rid = make_report(
        svc,
        files=0,
        incident={"type": incident_type, "at": "2026-03-01T10:00:00Z", "urls": ["https://example.org/a"]},
    )
    _check(schema, build_report(svc.get(rid), svc.provider))


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_annotation_and_escalation(sqlite_store: Store, tmp_path: Path, schema: Path) -> None:
    svc = _svc(sqlite_store, tmp_path)
    rid = make_report(
        svc,
        files=0,
        escalation={"imminent_danger": True, "reason": "placeholder: a child may be at risk"},
        incident={
            "type": "online_enticement",
            "at": "2026-03-01T10:00:00-05:00",
            "at_description": "around ten",
            "platform": "Example app",
            "annotations": sorted(vocab.NCMEC_REPORT_ANNOTATIONS),
            "urls": ["https://example.org/a", "https://example.org/b"],
            "third_party_hosted": True,
        },
        additional_info="report note",
        reporting_person={"first_name": "Alex", "last_name": "Reviewer", "email": "alex@example.org"},
    )
    xml = build_report(svc.get(rid), svc.provider)
    _check(schema, xml)
    notes = etree.fromstring(xml).find("incidentSummary/reportAnnotations")
    assert notes is not None and len(notes) == len(vocab.NCMEC_REPORT_ANNOTATIONS)


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("event", sorted(vocab.NCMEC_EVENT_NAMES))
def test_every_event_name(sqlite_store: Store, tmp_path: Path, schema: Path, event: str) -> None:
    svc = _svc(sqlite_store, tmp_path)
    account = {
        **ACCOUNT,
        "ip_events": [{"ip": "198.51.100.7", "port": 1, "event": event, "at": "2026-03-01T09:58:00Z"}],
        "device_ids": [{"kind": "IMEI", "value": "1", "event": event, "at": "2026-03-01T09:58:00Z"}],
    }
    rid = make_report(svc, files=1, accounts=[account, _associated()])
    snap = svc.get(rid)
    _check(schema, build_report(snap, svc.provider))
    svc.update_file(rid, snap.files[0].id, {"upload_ip": {"ip": "198.51.100.8", "event": event}})
    _check(schema, build_file_details("1001", "f1", svc.get(rid).files[0]))


@pytest.mark.parametrize("schema", SCHEMAS)
def test_chat_and_minimal_reports(sqlite_store: Store, tmp_path: Path, schema: Path) -> None:
    svc = _svc(sqlite_store, tmp_path)
    chat = make_report(
        svc,
        files=0,
        incident={
            "type": "online_enticement",
            "at": "2026-01-01T00:00:00Z",
            "internet_kind": "chat_im",
            "chat_client": "Example chat",
            "chat_room": "room-1",
        },
    )
    _check(schema, build_report(svc.get(chat), svc.provider))
    minimal = svc.create_draft(
        {"jurisdictions": ["US"], "incident": {"type": "child_pornography", "at": "2026-01-01T00:00:00Z"}}
    ).report.id
    _check(schema, build_report(svc.get(minimal), svc.provider))


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize(
    "facts",
    [
        pytest.param({}, id="plain"),
        pytest.param(
            {
                "publicly_available": False,
                "annotations": sorted(vocab.NCMEC_FILE_ANNOTATIONS),
                "industry_classification": "A2",
                "upload_ip": {
                    "ip": "198.51.100.7",
                    "port": 51234,
                    "event": "upload",
                    "at": "2026-03-01T09:58:00Z",
                },
                "additional_info": "file note",
            },
            id="every-annotation",
        ),
        pytest.param({"relevance": "supplemental"}, id="supplemental"),
        pytest.param(
            {"original_hashes": [{"type": "md5", "value": "0" * 32}, {"type": "pdq", "value": "f" * 64}]},
            id="hashes",
        ),
    ],
)
def test_every_file_detail(sqlite_store: Store, tmp_path: Path, schema: Path, facts: dict[str, Any]) -> None:
    svc = _svc(sqlite_store, tmp_path)
    rid = make_report(svc, files=1)
    f = svc.get(rid).files[0]
    if facts:
        svc.update_file(rid, f.id, facts)
    _check(schema, build_file_details("1001", "abc123", svc.get(rid).files[0]))


def test_unknown_review_facts_validate(sqlite_store: Store, tmp_path: Path) -> None:
    from tests.reporting_support import image_bytes

    svc = _svc(sqlite_store, tmp_path)
    rid = make_report(svc, files=0)
    svc.add_file(rid, data=image_bytes(5), viewed_by_human=None, exif_viewed_by_human=None, review_ref=None)
    _check(ncmec_schema(), build_file_details("1", "f", svc.get(rid).files[0]))


@needs_real_xsd
def test_the_fake_server_refuses_what_ncmec_refuses() -> None:
    """With NCMEC's schema the fake CyberTipline refuses an associated account without ``type``."""
    doc = b"""<report><incidentSummary><incidentType>Child Sex Tourism</incidentType>
      <incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime></incidentSummary>
      <reporter><reportingPerson><email>a@example.org</email></reportingPerson></reporter>
      <personOrUserReported><espIdentifier>u1</espIdentifier>
      <associatedAccount><espIdentifier>u2</espIdentifier></associatedAccount></personOrUserReported></report>"""
    with FakeCyberTipline(schema_path=REAL_XSD) as fake:
        import httpx

        answer = httpx.post(f"{fake.url}/submit", content=doc, auth=("ohsc-test", "ohsc-test"))
        assert b"<responseCode>4100</responseCode>" in answer.content
        assert b"type" in answer.content
        assert fake.schema_path == REAL_XSD
