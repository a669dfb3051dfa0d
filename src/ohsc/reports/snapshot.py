"""Read-only views of a report as destinations see it: the draft, its files, the provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ohsc.reports.draft import FileFacts, Person, ReportBody
from ohsc.reports.fields import STORED
from ohsc.reports.tables import ReportFileRow, ReportRow
from ohsc.settings import Settings

#: Stored drafts are read as saved; :func:`ohsc.reports.fields.stored_problems` lists what today's
#: checks refuse (a draft saved before a check existed must still open).
STORED_CONTEXT = {STORED: True}


@dataclass(frozen=True, slots=True)
class Provider:
    """The reporting provider, from settings (``OHSC_REPORT_*``)."""

    company_name: str | None
    contact: Person
    legal_url: str | None
    terms_of_service: str | None
    industry_classification: bool
    ncmec_company_template: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Provider:
        return cls(
            company_name=settings.report_company_name,
            contact=Person(
                first_name=settings.report_contact_first_name,
                last_name=settings.report_contact_last_name,
                email=settings.report_contact_email,
                phone=settings.report_contact_phone,
            ),
            legal_url=settings.report_legal_url,
            terms_of_service=settings.report_terms_of_service,
            industry_classification=settings.report_industry_classification,
            ncmec_company_template=settings.ncmec_company_template,
        )


@dataclass(frozen=True, slots=True)
class FileSnapshot:
    id: int
    position: int
    facts: FileFacts
    size: int
    md5: str
    sha1: str
    sha256: str
    media_type: str | None
    #: From the review record: True, False or None (unknown). Never defaulted.
    viewed_by_human: bool | None
    exif_viewed_by_human: bool | None
    review_ref: str | None
    matches: tuple[dict[str, Any], ...]
    matched_at: datetime | None
    content_namespace: str
    content_blob_id: str | None

    @property
    def name(self) -> str:
        """The file's name for humans and uploads (its original name, else a neutral one)."""
        return self.facts.file_name or f"file-{self.position + 1}"

    @classmethod
    def from_row(cls, row: ReportFileRow) -> FileSnapshot:
        return cls(
            id=row.id,
            position=row.position,
            facts=FileFacts.model_validate(row.facts or {}, context=STORED_CONTEXT),
            size=row.size,
            md5=row.md5,
            sha1=row.sha1,
            sha256=row.sha256,
            media_type=row.media_type,
            viewed_by_human=row.viewed_by_human,
            exif_viewed_by_human=row.exif_viewed_by_human,
            review_ref=row.review_ref,
            matches=tuple(row.matches or ()),
            matched_at=row.matched_at,
            content_namespace=row.content_namespace,
            content_blob_id=row.content_blob_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "position": self.position,
            "name": self.name,
            "size": self.size,
            "md5": self.md5,
            "sha1": self.sha1,
            "sha256": self.sha256,
            "media_type": self.media_type,
            "viewed_by_human": self.viewed_by_human,
            "exif_viewed_by_human": self.exif_viewed_by_human,
            "review_ref": self.review_ref,
            "matches": list(self.matches),
            "matched_at": self.matched_at.isoformat() if self.matched_at else None,
            "facts": self.facts.model_dump(mode="json", exclude_none=True),
        }


@dataclass(frozen=True, slots=True)
class ReportSnapshot:
    id: int
    status: str
    version: int
    body: ReportBody
    files: tuple[FileSnapshot, ...]
    sources: tuple[dict[str, Any], ...]
    destinations: tuple[str, ...]
    created_at: datetime
    created_by: str
    updated_at: datetime
    matched_at: datetime | None
    submitted_at: datetime | None
    filed_at: datetime | None
    retracted_at: datetime | None

    @property
    def ref(self) -> str:
        """A stable, human-readable name (package names, log lines)."""
        return f"report-{self.id}"

    def reporting_person(self, provider: Provider) -> Person:
        """The person filing: the draft's, else the provider's contact from settings."""
        return self.body.reporting_person or provider.contact

    @classmethod
    def from_row(cls, row: ReportRow) -> ReportSnapshot:
        return cls(
            id=row.id,
            status=row.status,
            version=row.version,
            body=ReportBody.model_validate(row.body or {}, context=STORED_CONTEXT),
            files=tuple(FileSnapshot.from_row(f) for f in row.files),
            sources=tuple(row.sources or ()),
            destinations=tuple(row.destinations or ()),
            created_at=row.created_at,
            created_by=row.created_by,
            updated_at=row.updated_at,
            matched_at=row.matched_at,
            submitted_at=row.submitted_at,
            filed_at=row.filed_at,
            retracted_at=row.retracted_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ref": self.ref,
            "status": self.status,
            "version": self.version,
            "body": self.body.model_dump(mode="json", exclude_none=True),
            "files": [f.to_dict() for f in self.files],
            "sources": list(self.sources),
            "destinations": list(self.destinations),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat(),
            "matched_at": self.matched_at.isoformat() if self.matched_at else None,
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "filed_at": self.filed_at.isoformat() if self.filed_at else None,
            "retracted_at": self.retracted_at.isoformat() if self.retracted_at else None,
        }


def file_evidence_key(report_id: int, file_id: int) -> str:
    """Evidence source key of a reported file (one preserved copy per file)."""
    return f"report:{report_id}:file:{file_id}"


def document_evidence_key(report_id: int, destination: str, name: str) -> str:
    """Evidence source key of a document sent to a destination."""
    return f"report:{report_id}:doc:{destination}:{name}"
