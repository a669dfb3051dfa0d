"""The report draft: what the form collects, as typed models that accept partial drafts.

A draft is saved as it is edited: every field may be missing until submission, but a value that is
there must have the right type (a web address, a date-time with a time zone, an IP address, a
port, an e-mail address, a known incident type: :mod:`ohsc.reports.fields`). Completeness is a separate check (:mod:`ohsc.reports.validation`) run for each
destination before submitting.

Whether a human viewed a file and its EXIF data is **not** here: it comes from the review record
and is stored with the file (:class:`ohsc.reports.snapshot.FileSnapshot`), never defaulted.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ohsc import jurisdiction
from ohsc.errors import InvalidInputError
from ohsc.reports import fields
from ohsc.reports.fields import Email, HttpUrl, IpAddress, Port, When
from ohsc.reports.vocab import (
    AssociatedAccountType,
    ContentKind,
    EventName,
    FileAnnotation,
    FileRelevance,
    IncidentType,
    IndustryClassification,
    InternetKind,
    ReportAnnotation,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)


class IpEvent(_Model):
    """An IP address captured at an event (NCMEC ``ipCaptureEvent``)."""

    ip: IpAddress
    port: Port | None = None
    event: EventName | None = None
    at: When | None = None
    possible_proxy: bool | None = None


class DeviceIdent(_Model):
    """A device identifier (IMEI, advertising id, ...) captured at an event (NCMEC ``deviceId``)."""

    kind: str = Field(min_length=1, max_length=255)
    value: str = Field(min_length=1, max_length=2083)
    event: EventName | None = None
    at: When | None = None


class Location(_Model):
    """Where an account appears to be (NCMEC ``estimatedLocation``)."""

    city: str | None = Field(default=None, max_length=255)
    region: str | None = Field(default=None, max_length=255)
    country_code: str | None = None

    @field_validator("country_code")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else jurisdiction.normalise(value)


class Person(_Model):
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=50)


class ReportedAccount(_Model):
    """An account involved in the incident. NCMEC takes one reported person per report: further
    accounts of the same person are ``associated``."""

    relation: str = Field(default="reported", pattern="^(reported|associated)$")
    #: For an associated account: how it relates to the reported person (NCMEC requires it;
    #: not given: ``linked``, another account of the same person).
    association: AssociatedAccountType | None = None
    esp_user_id: str | None = Field(default=None, max_length=255)
    service: str | None = Field(default=None, max_length=100)
    screen_name: str | None = Field(default=None, max_length=256)
    display_names: list[str] = Field(default_factory=list)
    profile_urls: list[HttpUrl] = Field(default_factory=list)
    emails: list[Email] = Field(default_factory=list)
    ip_events: list[IpEvent] = Field(default_factory=list)
    device_ids: list[DeviceIdent] = Field(default_factory=list)
    location: Location | None = None
    compromised: bool | None = None
    additional_info: str | None = None

    def identifiers(self) -> list[str]:
        """Names of the identifying fields that are filled in."""
        names = [
            "esp_user_id",
            "screen_name",
            "display_names",
            "profile_urls",
            "emails",
            "ip_events",
            "device_ids",
        ]
        return [n for n in names if getattr(self, n)]


class Incident(_Model):
    type: IncidentType | None = None
    at: When | None = None
    at_description: str | None = Field(default=None, max_length=3000)
    platform: str | None = Field(default=None, max_length=256)
    annotations: list[ReportAnnotation] = Field(default_factory=list)
    #: known (hash match), new (not in any list), or solicitation (EU proposal, Art. 13(1)(e)).
    content_kind: ContentKind | None = None
    internet_kind: InternetKind = "web_page"
    urls: list[HttpUrl] = Field(default_factory=list)
    third_party_hosted: bool | None = None
    chat_client: str | None = Field(default=None, max_length=255)
    chat_room: str | None = Field(default=None, max_length=255)
    #: Whether the provider removed or disabled access to the content (EU Art. 13(1)(i)).
    content_removed: bool | None = None
    #: Other authorities this incident was or will be reported to (EU Art. 13(1)(h)).
    reported_elsewhere: list[str] = Field(default_factory=list)


class Escalation(_Model):
    """A child in imminent danger: NCMEC ``escalateToHighPriority``, NCA and EU urgency."""

    imminent_danger: bool = False
    reason: str | None = Field(default=None, max_length=3000)


class ReportBody(_Model):
    """Everything the form edits, apart from the files."""

    jurisdictions: list[str] = Field(default_factory=list)
    incident: Incident = Field(default_factory=Incident)
    accounts: list[ReportedAccount] = Field(default_factory=list)
    escalation: Escalation = Field(default_factory=Escalation)
    #: The person filing; default: the contact in settings (OHSC_REPORT_CONTACT_*).
    reporting_person: Person | None = None
    additional_info: str | None = None

    @field_validator("jurisdictions")
    @classmethod
    def _jurisdictions(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for code in value:
            try:
                norm = jurisdiction.normalise(code)
            except InvalidInputError as exc:
                raise ValueError(exc.message) from None
            if norm not in out:
                out.append(norm)
        return out


class OriginalHash(_Model):
    """A hash of the file as it was uploaded to the platform (before any transcoding)."""

    type: str = Field(min_length=2, max_length=64, pattern="^[A-Za-z0-9_-]+$")
    value: str = Field(min_length=1, max_length=512)


class FileFacts(_Model):
    """The editable facts about one file (NCMEC ``fileDetails``)."""

    file_name: str | None = Field(default=None, max_length=2056)
    uploaded_at: When | None = None
    location_url: HttpUrl | None = None
    publicly_available: bool | None = None
    relevance: FileRelevance = "reported"
    industry_classification: IndustryClassification | None = None
    annotations: list[FileAnnotation] = Field(default_factory=list)
    upload_ip: IpEvent | None = None
    #: Hashes at upload time; prefilled with the stored file's MD5, SHA-1 and SHA-256.
    original_hashes: list[OriginalHash] = Field(default_factory=list)
    additional_info: str | None = None


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """Pydantic errors as ``{"incident.at": "message"}``."""
    out: dict[str, str] = {}
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        out[f"{prefix}{path}"] = fields.message(err)
    return out


def parse_body(data: dict[str, Any]) -> ReportBody:
    try:
        return ReportBody.model_validate(data)
    except ValidationError as exc:
        problems = field_errors(exc)
        raise InvalidInputError(
            "the draft has invalid fields: " + "; ".join(f"{k}: {v}" for k, v in problems.items()),
            detail={"fields": problems},
        ) from None


def parse_file_facts(data: dict[str, Any], prefix: str = "") -> FileFacts:
    try:
        return FileFacts.model_validate(data)
    except ValidationError as exc:
        problems = field_errors(exc, prefix)
        raise InvalidInputError(
            "the file has invalid fields: " + "; ".join(f"{k}: {v}" for k, v in problems.items()),
            detail={"fields": problems},
        ) from None


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``patch`` into ``base``: objects merge, everything else (lists too) replaces."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Leaf paths whose value differs (for the audit log: names, never values)."""
    if isinstance(before, dict) and isinstance(after, dict):
        paths: list[str] = []
        for key in sorted(set(before) | set(after)):
            paths += changed_paths(before.get(key), after.get(key), f"{prefix}{key}.")
        return paths
    return [] if before == after else [prefix.rstrip(".")]
