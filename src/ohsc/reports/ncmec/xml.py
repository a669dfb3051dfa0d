"""CyberTipline Reporting API documents, built with lxml in the schema's element order.

Two documents go out: ``<report>`` (``/submit``) and one ``<fileDetails>`` per file
(``/fileinfo``). Every builder below appends children in the order the documentation's schema
sequences give; optional elements are left out rather than sent empty. Responses
(``<reportResponse>``, ``<reportDoneResponse>``) are parsed with a hardened parser: no DTDs, no
entities, no network, a size cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lxml import etree

from ohsc.errors import ConfigError, DestinationRejectedError, ReportValidationError
from ohsc.reports.draft import DeviceIdent, IpEvent, Person, ReportedAccount
from ohsc.reports.snapshot import FileSnapshot, Provider, ReportSnapshot
from ohsc.reports.vocab import (
    NCMEC_ASSOCIATED_ACCOUNT_TYPES,
    NCMEC_EVENT_NAMES,
    NCMEC_FILE_ANNOTATIONS,
    NCMEC_FILE_RELEVANCE,
    NCMEC_INCIDENT_TYPES,
    NCMEC_REPORT_ANNOTATIONS,
)

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = "https://report.cybertip.org/ispws/xsd"
#: Responses are small acknowledgements; anything bigger is refused unread.
MAX_RESPONSE_BYTES = 1024 * 1024


def _root(tag: str) -> etree._Element:
    root = etree.Element(tag, nsmap={"xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", SCHEMA_LOCATION)
    return root


def _el(parent: etree._Element, tag: str, text: object = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, tag, attrib=attrs)
    if text is not None:
        child.text = _text(text)
    return child


def _opt(parent: etree._Element, tag: str, value: object) -> None:
    """Append ``<tag>value</tag>`` unless the value is None or empty."""
    if value is None or value == "":
        return
    _el(parent, tag, value)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def _document(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- shared types ----------------------------------------------------------------------------


def _ip_event(parent: etree._Element, event: IpEvent) -> None:
    node = _el(parent, "ipCaptureEvent")
    _el(node, "ipAddress", event.ip)
    _opt(node, "eventName", NCMEC_EVENT_NAMES[event.event] if event.event else None)
    _opt(node, "dateTime", event.at)
    _opt(node, "possibleProxy", event.possible_proxy)
    _opt(node, "port", event.port)


def _device(parent: etree._Element, device: DeviceIdent) -> None:
    node = _el(parent, "deviceId")
    _el(node, "idType", device.kind)
    _el(node, "idValue", device.value)
    _opt(node, "eventName", NCMEC_EVENT_NAMES[device.event] if device.event else None)
    _opt(node, "dateTime", device.at)


def _person(parent: etree._Element, tag: str, person: Person, *, emails: Sequence[str] = ()) -> None:
    node = _el(parent, tag)
    _opt(node, "firstName", person.first_name)
    _opt(node, "lastName", person.last_name)
    _opt(node, "phone", person.phone)
    addresses = [person.email] if person.email else []
    for email in [*addresses, *emails]:
        _el(node, "email", email)


# --- <report> --------------------------------------------------------------------------------


def _incident_summary(root: etree._Element, report: ReportSnapshot) -> None:
    incident = report.body.incident
    if incident.type is None or incident.at is None:
        raise ReportValidationError("the report has no incident type or time")
    node = _el(root, "incidentSummary")
    _el(node, "incidentType", NCMEC_INCIDENT_TYPES[incident.type])
    _opt(node, "platform", incident.platform)
    if report.body.escalation.imminent_danger:
        _el(node, "escalateToHighPriority", report.body.escalation.reason or "Child in imminent danger")
    if incident.annotations:
        notes = _el(node, "reportAnnotations")
        for key in sorted(set(incident.annotations), key=list(NCMEC_REPORT_ANNOTATIONS).index):
            _el(notes, NCMEC_REPORT_ANNOTATIONS[key])
    _el(node, "incidentDateTime", incident.at)
    _opt(node, "incidentDateTimeDescription", incident.at_description)


def _internet_details(root: etree._Element, report: ReportSnapshot) -> None:
    incident = report.body.incident
    if incident.internet_kind == "chat_im":
        if not (incident.chat_client or incident.chat_room):
            return
        node = _el(_el(root, "internetDetails"), "chatImIncident")
        _opt(node, "chatClient", incident.chat_client)
        _opt(node, "chatRoomName", incident.chat_room)
        return
    if not incident.urls:
        return
    page = _el(_el(root, "internetDetails"), "webPageIncident")
    if incident.third_party_hosted is not None:
        page.set("thirdPartyHostedContent", _text(incident.third_party_hosted))
    for url in incident.urls:
        _el(page, "url", url)


def _reporter(root: etree._Element, report: ReportSnapshot, provider: Provider) -> None:
    node = _el(root, "reporter")
    _person(node, "reportingPerson", report.reporting_person(provider))
    contact = provider.contact
    if report.body.reporting_person is not None and (contact.email or contact.first_name):
        _person(node, "contactPerson", contact)
    _opt(node, "companyTemplate", provider.ncmec_company_template)
    _opt(node, "termsOfService", provider.terms_of_service)
    _opt(node, "legalURL", provider.legal_url)


def _associated(parent: etree._Element, account: ReportedAccount) -> None:
    node = _el(
        parent, "associatedAccount", type=NCMEC_ASSOCIATED_ACCOUNT_TYPES[account.association or "linked"]
    )
    for email in account.emails:
        _el(node, "email", email)
    _opt(node, "espService", account.service)
    _opt(node, "espIdentifier", account.esp_user_id)
    for url in account.profile_urls:
        _el(node, "profileUrl", url)
    _opt(node, "screenName", account.screen_name)
    for name in account.display_names:
        _el(node, "displayName", name)
    for event in account.ip_events:
        _ip_event(node, event)
    for device in account.device_ids:
        _device(node, device)
    _opt(node, "additionalInfo", account.additional_info)


def _person_reported(root: etree._Element, report: ReportSnapshot) -> None:
    accounts = report.body.accounts
    reported = [a for a in accounts if a.relation == "reported"]
    associated = [a for a in accounts if a.relation == "associated"]
    if not reported:
        return
    if len(reported) > 1:
        raise ReportValidationError("NCMEC takes one reported person per report")
    main = reported[0]
    node = _el(root, "personOrUserReported")
    if main.emails:
        _person(node, "personOrUserReportedPerson", Person(), emails=main.emails)
    _opt(node, "espIdentifier", main.esp_user_id)
    _opt(node, "espService", main.service)
    _opt(node, "compromisedAccount", main.compromised)
    _opt(node, "screenName", main.screen_name)
    for name in main.display_names:
        _el(node, "displayName", name)
    for url in main.profile_urls:
        _el(node, "profileUrl", url)
    for event in main.ip_events:
        _ip_event(node, event)
    for device in main.device_ids:
        _device(node, device)
    if main.location is not None and (
        main.location.city or main.location.region or main.location.country_code
    ):
        loc = _el(node, "estimatedLocation")
        _opt(loc, "city", main.location.city)
        _opt(loc, "region", main.location.region)
        _opt(loc, "countryCode", main.location.country_code)
    for other in associated:
        _associated(node, other)
    _opt(node, "additionalInfo", main.additional_info)


def build_report(report: ReportSnapshot, provider: Provider) -> bytes:
    """The ``<report>`` document for ``/submit``."""
    root = _root("report")
    _incident_summary(root, report)
    _internet_details(root, report)
    _reporter(root, report, provider)
    _person_reported(root, report)
    _opt(root, "additionalInfo", report.body.additional_info)
    return _document(root)


# --- <fileDetails> ---------------------------------------------------------------------------


def build_file_details(report_id: str, file_id: str, f: FileSnapshot) -> bytes:
    """The ``<fileDetails>`` document for ``/fileinfo``."""
    facts = f.facts
    root = _root("fileDetails")
    _el(root, "reportId", report_id)
    _el(root, "fileId", file_id)
    _opt(root, "originalFileName", facts.file_name)
    _opt(root, "uploadedToEspTimestamp", facts.uploaded_at)
    _opt(root, "locationOfFile", facts.location_url)
    _opt(root, "fileViewedByEsp", f.viewed_by_human)
    _opt(root, "exifViewedByEsp", f.exif_viewed_by_human)
    _opt(root, "publiclyAvailable", facts.publicly_available)
    _el(root, "fileRelevance", NCMEC_FILE_RELEVANCE[facts.relevance])
    if facts.annotations:
        notes = _el(root, "fileAnnotations")
        for key in sorted(set(facts.annotations), key=list(NCMEC_FILE_ANNOTATIONS).index):
            _el(notes, NCMEC_FILE_ANNOTATIONS[key])
    _opt(root, "industryClassification", facts.industry_classification)
    for h in facts.original_hashes:
        _el(root, "originalFileHash", h.value, hashType=h.type.upper())
    if facts.upload_ip is not None:
        _ip_event(root, facts.upload_ip)
    _opt(root, "additionalInfo", facts.additional_info)
    return _document(root)


# --- responses -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    """A ``<reportResponse>`` or ``<reportDoneResponse>``."""

    kind: str
    code: int
    description: str
    report_id: str | None = None
    file_id: str | None = None
    hash: str | None = None
    file_ids: tuple[str, ...] = field(default=())


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
)


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML: no DOCTYPE, no entities, no network, at most 1 MiB."""
    if len(data) > MAX_RESPONSE_BYTES:
        raise ValueError(f"document of {len(data)} bytes is larger than {MAX_RESPONSE_BYTES}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError("documents with a DOCTYPE are refused")
    root = etree.fromstring(data, parser=_PARSER)
    if root.getroottree().docinfo.doctype:
        raise ValueError("documents with a DOCTYPE are refused")
    return root


def parse_response(data: bytes) -> Response:
    try:
        root = parse_xml(data)
    except (ValueError, etree.XMLSyntaxError) as exc:
        raise DestinationRejectedError(f"NCMEC answered with an unreadable document: {exc}") from None

    def text(tag: str) -> str | None:
        node = root.find(tag)
        return node.text.strip() if node is not None and node.text else None

    code_text = text("responseCode")
    if root.tag not in ("reportResponse", "reportDoneResponse") or code_text is None:
        raise DestinationRejectedError(f"NCMEC answered with an unexpected <{root.tag!s}> document")
    try:
        code = int(code_text)
    except ValueError:
        raise DestinationRejectedError(f"NCMEC answered with response code {code_text!r}") from None
    file_ids = tuple(n.text.strip() for n in root.iterfind("files/fileId") if n.text)
    return Response(
        kind=root.tag,
        code=code,
        description=text("responseDescription") or "",
        report_id=text("reportId"),
        file_id=text("fileId"),
        hash=text("hash"),
        file_ids=file_ids,
    )


# --- checking against an XSD -----------------------------------------------------------------


class SchemaCheck:
    """Validate documents against an XSD (NCMEC's own, from ``GET /xsd``, or the fake's)."""

    def __init__(self, path: Path) -> None:
        try:
            self.schema = etree.XMLSchema(etree.parse(str(path)))
        except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise ConfigError(f"cannot read the XML schema {path}: {exc}") from exc
        self.path = path

    def problems(self, document: bytes) -> list[str]:
        doc = etree.fromstring(document, parser=_PARSER)
        if self.schema.validate(doc):
            return []
        return [f"line {e.line}: {e.message}" for e in self.schema.error_log]

    def check(self, document: bytes, what: str) -> None:
        problems = self.problems(document)
        if problems:
            raise ReportValidationError(
                f"the {what} does not validate against {self.path.name}: " + "; ".join(problems[:5]),
                detail={"problems": problems},
            )
