"""NCMEC documents: element order, values, schema validity; hardened response parsing; the client's
mapping of response codes."""

# lxml's find() may return None: these tests index what a valid document must contain
# mypy: disable-error-code="union-attr"

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree

from ohsc.errors import (
    ConfigError,
    DestinationError,
    DestinationRejectedError,
    DestinationUnavailableError,
    ReportValidationError,
)
from ohsc.reports.ncmec import client as api
from ohsc.reports.ncmec.client import CyberTiplineClient, check_base_url
from ohsc.reports.ncmec.fake_server import SCHEMA_PATH
from ohsc.reports.ncmec.xml import SchemaCheck, build_file_details, build_report, parse_response
from ohsc.reports.service import ReportService
from ohsc.reports.snapshot import Provider, ReportSnapshot
from ohsc.store.db import Store
from tests.reporting_support import body, image_bytes, make_report, make_settings, service

# The sequences as NCMEC's documentation gives them, written out here independently of both the
# builders and the fake schema.
ORDER = {
    "report": [
        "batchedReport",
        "incidentSummary",
        "internetDetails",
        "lawEnforcement",
        "reporter",
        "personOrUserReported",
        "intendedRecipient",
        "victim",
        "additionalInfo",
    ],
    "incidentSummary": [
        "incidentType",
        "platform",
        "escalateToHighPriority",
        "reportAnnotations",
        "incidentDateTime",
        "incidentDateTimeDescription",
    ],
    "reporter": ["reportingPerson", "contactPerson", "companyTemplate", "termsOfService", "legalURL"],
    "personOrUserReported": [
        "personOrUserReportedPerson",
        "vehicleDescription",
        "espIdentifier",
        "espService",
        "compromisedAccount",
        "screenName",
        "displayName",
        "profileUrl",
        "profileBio",
        "ipCaptureEvent",
        "deviceId",
        "thirdPartyUserReported",
        "priorCTReports",
        "groupIdentifier",
        "estimatedLocation",
        "allEmailsReported",
        "associatedAccount",
        "additionalInfo",
    ],
    "fileDetails": [
        "reportId",
        "fileId",
        "originalFileName",
        "uploadedToEspTimestamp",
        "locationOfFile",
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "industryClassification",
        "originalFileHash",
        "ipCaptureEvent",
        "deviceId",
        "details",
        "additionalInfo",
    ],
    "ipCaptureEvent": ["ipAddress", "eventName", "dateTime", "possibleProxy", "port"],
    "deviceId": ["idType", "idValue", "eventName", "dateTime"],
}


def _assert_order(node: etree._Element) -> None:
    for el in node.iter():
        sequence = ORDER.get(str(el.tag))
        if sequence is None:
            continue
        tags = [str(c.tag) for c in el]
        assert all(t in sequence for t in tags), (el.tag, tags)
        positions = [sequence.index(t) for t in tags]
        assert positions == sorted(positions), f"<{el.tag!r}> children out of order: {tags}"


def _rich_report(store: Store, tmp_path: Path, **settings: object) -> tuple[ReportService, ReportSnapshot]:
    svc = service(store, make_settings(tmp_path, report_industry_classification=True, **settings))
    rid = make_report(
        svc,
        files=1,
        accounts=[
            {
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
                "location": {"city": "Placeholder City", "country_code": "us"},
                "additional_info": "account note",
            },
            {"relation": "associated", "esp_user_id": "user-2", "screen_name": "placeholder-alt"},
        ],
        escalation={"imminent_danger": True, "reason": "placeholder: a child may be at risk"},
        incident={
            "type": "online_enticement",
            "at": "2026-03-01T10:00:00-05:00",
            "at_description": "around ten",
            "platform": "Example app",
            "annotations": ["spam", "sextortion"],
            "urls": ["https://example.org/a", "https://example.org/b"],
            "third_party_hosted": False,
        },
        additional_info="report note",
        reporting_person={"first_name": "Alex", "last_name": "Reviewer", "email": "alex@example.org"},
    )
    fid = svc.get(rid).files[0].id
    svc.update_file(
        rid,
        fid,
        {
            "publicly_available": False,
            "annotations": ["viral", "potential_meme"],
            "industry_classification": "A2",
            "upload_ip": {
                "ip": "198.51.100.7",
                "port": 51234,
                "event": "upload",
                "at": "2026-03-01T09:58:00Z",
            },
            "additional_info": "file note",
        },
    )
    return svc, svc.get(rid)


def test_report_document_is_in_schema_order_and_valid(store: Store, tmp_path: Path) -> None:
    svc, snap = _rich_report(store, tmp_path, ncmec_company_template="example-template")
    xml = build_report(snap, svc.provider)
    root = etree.fromstring(xml)
    _assert_order(root)
    assert SchemaCheck(SCHEMA_PATH).problems(xml) == []
    assert root.findtext("incidentSummary/incidentType") == "Online Enticement of Children for Sexual Acts"
    assert root.findtext("incidentSummary/escalateToHighPriority") == "placeholder: a child may be at risk"
    assert [c.tag for c in root.find("incidentSummary/reportAnnotations")] == ["sextortion", "spam"]
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-03-01T10:00:00-05:00"
    assert root.find("internetDetails/webPageIncident").get("thirdPartyHostedContent") == "false"
    assert [u.text for u in root.iterfind("internetDetails/webPageIncident/url")] == [
        "https://example.org/a",
        "https://example.org/b",
    ]
    assert root.findtext("reporter/reportingPerson/email") == "alex@example.org"
    assert root.findtext("reporter/contactPerson/email") == "safety@example.org"
    assert root.findtext("reporter/companyTemplate") == "example-template"
    person = root.find("personOrUserReported")
    assert person.findtext("espIdentifier") == "user-1"
    assert person.findtext("personOrUserReportedPerson/email") == "someone@example.org"
    assert person.findtext("compromisedAccount") == "false"
    ip = person.find("ipCaptureEvent")
    assert [c.tag for c in ip] == ["ipAddress", "eventName", "dateTime", "possibleProxy", "port"]
    assert (ip.findtext("eventName"), ip.findtext("port"), ip.findtext("possibleProxy")) == (
        "Login",
        "443",
        "true",
    )
    assert person.findtext("estimatedLocation/countryCode") == "US"
    assert person.findtext("associatedAccount/espIdentifier") == "user-2"
    assert root.findtext("additionalInfo") == "report note"


def test_file_details_document_is_in_schema_order_and_valid(store: Store, tmp_path: Path) -> None:
    _svc, snap = _rich_report(store, tmp_path)
    f = snap.files[0]
    xml = build_file_details("1001", "abc123", f)
    root = etree.fromstring(xml)
    _assert_order(root)
    assert SchemaCheck(SCHEMA_PATH).problems(xml) == []
    assert (root.findtext("reportId"), root.findtext("fileId")) == ("1001", "abc123")
    assert root.findtext("originalFileName") == "upload-1.jpg"
    assert root.findtext("fileViewedByEsp") == "true"
    assert root.findtext("exifViewedByEsp") == "false"
    assert root.findtext("publiclyAvailable") == "false"
    assert root.findtext("fileRelevance") == "Reported"
    assert [c.tag for c in root.find("fileAnnotations")] == ["potentialMeme", "viral"]
    assert root.findtext("industryClassification") == "A2"
    hashes = {h.get("hashType"): h.text for h in root.iterfind("originalFileHash")}
    assert hashes == {"MD5": f.md5, "SHA1": f.sha1, "SHA256": f.sha256}
    assert root.findtext("ipCaptureEvent/eventName") == "Upload"


def test_unknown_review_facts_are_left_out_not_invented(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = svc.create_draft(body()).report.id
    svc.add_file(rid, data=image_bytes(5), viewed_by_human=None, exif_viewed_by_human=None, review_ref=None)
    f = svc.get(rid).files[0]
    root = etree.fromstring(build_file_details("1", "f", f))
    assert root.find("fileViewedByEsp") is None
    assert root.find("exifViewedByEsp") is None


def test_minimal_report_is_valid(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = svc.create_draft(
        {"jurisdictions": ["US"], "incident": {"type": "child_pornography", "at": "2026-01-01T00:00:00Z"}}
    ).report.id
    xml = build_report(svc.get(rid), svc.provider)
    assert SchemaCheck(SCHEMA_PATH).problems(xml) == []
    root = etree.fromstring(xml)
    assert root.find("internetDetails") is None
    assert root.find("personOrUserReported") is None


def test_chat_incidents(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    rid = make_report(
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
    xml = build_report(svc.get(rid), svc.provider)
    assert SchemaCheck(SCHEMA_PATH).problems(xml) == []
    assert etree.fromstring(xml).findtext("internetDetails/chatImIncident/chatRoomName") == "room-1"


def test_the_fake_schema_catches_out_of_order_documents() -> None:
    check = SchemaCheck(SCHEMA_PATH)
    bad = b"""<report><reporter><reportingPerson><email>a@example.org</email></reportingPerson></reporter>
      <incidentSummary><incidentType>Child Sex Tourism</incidentType>
      <incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime></incidentSummary></report>"""
    assert check.problems(bad)
    naive = b"""<report><incidentSummary><incidentType>Child Sex Tourism</incidentType>
      <incidentDateTime>2026-01-01T00:00:00</incidentDateTime></incidentSummary>
      <reporter><reportingPerson><email>a@example.org</email></reportingPerson></reporter></report>"""
    assert check.problems(naive)
    with pytest.raises(ReportValidationError, match="does not validate"):
        check.check(bad, "report")


def test_a_configured_xsd_is_checked_before_sending(store: Store, tmp_path: Path) -> None:
    strict = tmp_path / "strict.xsd"
    # A schema that wants a <platform>: documents without one fail the check.
    strict.write_text(
        SCHEMA_PATH.read_text().replace(
            '<xs:element name="platform" type="xs:string" minOccurs="0"/>\n              <xs:element name="escalateToHighPriority"',
            '<xs:element name="platform" type="xs:string"/>\n              <xs:element name="escalateToHighPriority"',
        )
    )
    svc = service(
        store,
        make_settings(
            tmp_path,
            ncmec_xsd_path=strict,
            report_destinations={"*": ["ncmec"]},
            ncmec_base_url="http://127.0.0.1:9/ispws",
            ncmec_username="u",
            ncmec_password="p",
        ),
    )
    rid = make_report(svc, files=1, incident={"type": "child_pornography", "at": "2026-01-01T00:00:00Z"})
    problems = [p for p in svc.check(rid).problems if p.destination == "ncmec" and p.severity == "error"]
    assert problems
    assert "strict.xsd" in problems[0].message


# --- responses ---------------------------------------------------------------------------------


def test_responses_are_parsed() -> None:
    r = parse_response(
        b"<?xml version='1.0'?><reportResponse><responseCode>0</responseCode>"
        b"<responseDescription>Success</responseDescription><reportId>42</reportId>"
        b"<fileId>f1</fileId><hash>ABC</hash></reportResponse>"
    )
    assert (r.code, r.report_id, r.file_id, r.hash) == (0, "42", "f1", "ABC")
    done = parse_response(
        b"<reportDoneResponse><responseCode>0</responseCode><reportId>42</reportId>"
        b"<files><fileId>a</fileId><fileId>b</fileId></files></reportDoneResponse>"
    )
    assert done.file_ids == ("a", "b")


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]><reportResponse><responseCode>&x;</responseCode></reportResponse>',
        b"<!DOCTYPE reportResponse><reportResponse><responseCode>0</responseCode></reportResponse>",
        b"<html>not xml",
        b"<other><responseCode>0</responseCode></other>",
        b"<reportResponse><responseCode>zero</responseCode></reportResponse>",
        b"<reportResponse>" + b"<x/>" * 300_000 + b"</reportResponse>",
    ],
)
def test_hostile_or_odd_responses_are_refused(body: bytes) -> None:
    with pytest.raises(DestinationRejectedError):
        parse_response(body)


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> CyberTiplineClient:
    return CyberTiplineClient("https://ncmec.invalid/ispws", "u", "p", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (1000, DestinationUnavailableError, "server error"),
        (2000, DestinationRejectedError, "OHSC_NCMEC_USERNAME"),
        (3100, DestinationRejectedError, "not authorised to make submissions"),
        (4100, DestinationRejectedError, "validation failed"),
        (5001, DestinationRejectedError, "does not exist"),
        (5102, DestinationRejectedError, "already finished"),
        (4321, DestinationRejectedError, "unknown response code"),
    ],
)
def test_response_codes_become_clear_errors(code: int, error: type[DestinationError], words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = f"<reportResponse><responseCode>{code}</responseCode><responseDescription>said</responseDescription></reportResponse>"
        return httpx.Response(200, content=body.encode())

    with _client(handler) as client, pytest.raises(error) as info:
        client.submit(b"<report/>")
    assert words in info.value.message
    assert f"response code {code}" in info.value.message
    assert info.value.response_code == code


def test_http_failures_become_clear_errors() -> None:
    def unauthorised(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, content=b"")

    with _client(unauthorised) as client, pytest.raises(DestinationRejectedError) as info:
        client.status()
    assert info.value.response_code == api.AUTHENTICATION_REQUIRED

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, content=b"<html>bad gateway</html>")

    with _client(broken) as client, pytest.raises(DestinationUnavailableError, match="HTTP 502"):
        client.status()

    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://elsewhere.invalid/"})

    with _client(redirect) as client, pytest.raises(DestinationRejectedError, match="redirect"):
        client.finish("1")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with _client(down) as client, pytest.raises(DestinationUnavailableError, match="cannot connect"):
        client.submit(b"<report/>")


def test_requests_use_basic_auth_and_the_documented_forms() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        tag = "reportDoneResponse" if request.url.path.endswith("/finish") else "reportResponse"
        extra = "<reportId>7</reportId><fileId>f</fileId><hash>00</hash>"
        return httpx.Response(200, content=f"<{tag}><responseCode>0</responseCode>{extra}</{tag}>".encode())

    with _client(handler) as client:
        assert client.submit(b"<report/>") == "7"
        assert client.upload("7", "a.jpg", b"bytes", "image/jpeg") == ("f", "00")
        client.fileinfo(b"<fileDetails/>")
        client.finish("7")
        client.retract("7")
    assert [r.url.path for r in seen] == [
        "/ispws/submit",
        "/ispws/upload",
        "/ispws/fileinfo",
        "/ispws/finish",
        "/ispws/retract",
    ]
    assert all(r.headers["Authorization"].startswith("Basic ") for r in seen)
    assert seen[0].headers["Content-Type"].startswith("text/xml")
    assert seen[1].headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="id"' in seen[1].content
    assert b'filename="a.jpg"' in seen[1].content
    assert seen[3].content == b"id=7"


def test_plain_http_only_for_loopback() -> None:
    assert check_base_url("http://127.0.0.1:8765/ispws/") == "http://127.0.0.1:8765/ispws"
    assert check_base_url(api.TEST_BASE_URL) == api.TEST_BASE_URL
    with pytest.raises(ConfigError, match="https"):
        check_base_url("http://exttest.cybertip.org/ispws")
    with pytest.raises(ConfigError):
        check_base_url("ftp://example.org")


def test_provider_defaults_fill_the_reporter(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path, report_terms_of_service="https://example.org/tos"))
    rid = make_report(svc, files=0)
    root = etree.fromstring(build_report(svc.get(rid), Provider.from_settings(svc.settings)))
    person = root.find("reporter/reportingPerson")
    assert [c.tag for c in person] == ["firstName", "lastName", "email"]
    assert root.find("reporter/contactPerson") is None
    assert root.findtext("reporter/termsOfService") == "https://example.org/tos"
    assert root.findtext("reporter/legalURL") == "https://example.org/legal"
