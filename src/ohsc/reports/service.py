"""The report service: drafts, files, validation, submission, retraction. Every change is audited.

Drafts are saved as they are edited (:meth:`ReportService.update` takes a partial patch and the
version the editor started from). A draft is checked for completeness per destination before it is
submitted; submitting freezes it. Submission and retraction live in :mod:`ohsc.reports.filing`.

Whether a person viewed a file, and its EXIF data, is taken from the review record: the caller
passes ``viewed_by_human`` and ``exif_viewed_by_human`` explicitly when adding a file (None means
the record does not say), and only :meth:`ReportService.record_review` changes them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ohsc import audit
from ohsc.actor import ROLE_REVIEWER, ROLE_SYSTEM, Actor, has_any_role
from ohsc.errors import (
    ConfigError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ReportNotFoundError,
    ReportStateError,
)
from ohsc.evidence.service import EvidenceService, open_blob_store
from ohsc.media.blobs import BlobIntegrityError, BlobStore
from ohsc.reports import destinations as dest_registry
from ohsc.reports.destinations.base import ReportDestination
from ohsc.reports.draft import (
    OriginalHash,
    changed_paths,
    merge,
    parse_body,
    parse_file_facts,
)
from ohsc.reports.snapshot import FileSnapshot, Provider, ReportSnapshot
from ohsc.reports.submission import SubmissionInfo
from ohsc.reports.tables import (
    DRAFT,
    EDITABLE,
    REPORT_STATUSES,
    ReportFileRow,
    ReportRow,
)
from ohsc.reports.validation import Problem, common_problems
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow

if TYPE_CHECKING:
    from ohsc.reports.filing import SubmitResult
    from ohsc.reports.stats import ReportStats

log = logging.getLogger(__name__)

#: Blob namespace of content attached to drafts (deleted once the report is filed).
CONTENT_NAMESPACE = "reports"
#: File fields that come from the review record and cannot be edited like the others.
REVIEW_FIELDS = ("viewed_by_human", "exif_viewed_by_human", "review_ref")


@dataclass(frozen=True, slots=True)
class DraftResult:
    """A saved draft and what it still lacks (errors block submission, warnings do not)."""

    report: ReportSnapshot
    problems: list[Problem]

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report.to_dict(), "problems": [p.to_dict() for p in self.problems]}


@dataclass(frozen=True, slots=True)
class ReportSummary:
    id: int
    status: str
    incident_type: str | None
    files: int
    jurisdictions: tuple[str, ...]
    destinations: tuple[tuple[str, str, str | None], ...]
    created_at: datetime
    updated_at: datetime
    filed_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "incident_type": self.incident_type,
            "files": self.files,
            "jurisdictions": list(self.jurisdictions),
            "destinations": [{"name": n, "state": st, "remote_id": r} for n, st, r in self.destinations],
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "filed_at": self.filed_at.isoformat() if self.filed_at else None,
        }


class ReportService:
    """Reports for one actor. ``progress`` receives one-line notes while submitting."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        actor: Actor,
        *,
        blobs: BlobStore | None = None,
        destination_factory: Callable[[str], ReportDestination] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self._blobs = blobs
        self._destination_factory = destination_factory
        self.progress = progress or (lambda message: log.info("%s", message))

    @cached_property
    def blobs(self) -> BlobStore:
        return self._blobs or open_blob_store(self.settings)

    @cached_property
    def evidence(self) -> EvidenceService:
        return EvidenceService(self.store, self.settings, self.actor, blobs=self.blobs)

    @property
    def provider(self) -> Provider:
        return Provider.from_settings(self.settings)

    def destination(self, name: str) -> ReportDestination:
        if self._destination_factory is not None:
            return self._destination_factory(name)
        return dest_registry.create(name, self.settings)

    # --- access ------------------------------------------------------------------------------

    def _require(self, roles: Iterable[str], what: str) -> None:
        allowed = set(roles)
        if has_any_role(self.actor, allowed):
            return
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor.name,
                action="report.denied",
                object_type="report",
                details={"wanted": what, "roles": sorted(self.actor.roles)},
            )
        raise PermissionDeniedError(
            f"{self.actor.name} may not {what}: it needs one of the roles {', '.join(sorted(allowed))}"
        )

    @property
    def _draft_roles(self) -> set[str]:
        return {*self.settings.report_roles, ROLE_REVIEWER, ROLE_SYSTEM}

    @property
    def _submit_roles(self) -> set[str]:
        return {*self.settings.report_roles, ROLE_SYSTEM}

    @property
    def _read_roles(self) -> set[str]:
        return {*self._draft_roles, *self.settings.evidence_roles}

    # --- loading -----------------------------------------------------------------------------

    @staticmethod
    def _load(s: Session, report_id: int, *, lock: bool = False) -> ReportRow:
        q = (
            select(ReportRow)
            .options(selectinload(ReportRow.files), selectinload(ReportRow.submissions))
            .where(ReportRow.id == report_id)
        )
        if lock:
            q = q.with_for_update()
        row = s.scalar(q)
        if row is None:
            raise ReportNotFoundError(f"no report {report_id}")
        return row

    @staticmethod
    def _editable(row: ReportRow, expected_version: int | None) -> None:
        if row.status not in EDITABLE:
            raise ReportStateError(f"report {row.id} is {row.status}: only drafts can be changed")
        if expected_version is not None and expected_version != row.version:
            raise ConflictError(
                f"report {row.id} was changed by someone else (version {row.version}, you edited "
                f"{expected_version}): reload it and apply your change again",
                detail={"version": row.version},
            )

    def _touch(self, s: Session, row: ReportRow) -> None:
        row.version += 1
        row.updated_at = utcnow()
        row.updated_by = self.actor.name
        if row.status != DRAFT:  # editing a failed report makes it a draft again
            row.status = DRAFT
            row.destinations = []
            for sub in list(row.submissions):
                s.delete(sub)

    def get(self, report_id: int) -> ReportSnapshot:
        self._require(self._read_roles, "read reports")
        with self.store.session() as s:
            row = self._load(s, report_id)
            audit.record(
                s, actor=self.actor.name, action="report.view", object_type="report", object_id=row.id
            )
            return ReportSnapshot.from_row(row)

    def submissions(self, report_id: int) -> list[SubmissionInfo]:
        self._require(self._read_roles, "read reports")
        with self.store.session() as s:
            row = self._load(s, report_id)
            return [SubmissionInfo.from_row(sub) for sub in row.submissions]

    def summaries(self, *, status: str | None = None, limit: int = 200) -> list[ReportSummary]:
        self._require(self._read_roles, "list reports")
        if status is not None and status not in REPORT_STATUSES:
            raise InvalidInputError(f"unknown status {status!r} (one of {', '.join(REPORT_STATUSES)})")
        with self.store.session() as s:
            q = (
                select(ReportRow)
                .options(selectinload(ReportRow.files), selectinload(ReportRow.submissions))
                .order_by(ReportRow.id.desc())
                .limit(limit)
            )
            if status is not None:
                q = q.where(ReportRow.status == status)
            out = []
            for row in s.scalars(q):
                body = row.body or {}
                out.append(
                    ReportSummary(
                        id=row.id,
                        status=row.status,
                        incident_type=(body.get("incident") or {}).get("type"),
                        files=len(row.files),
                        jurisdictions=tuple(body.get("jurisdictions") or ()),
                        destinations=tuple((x.destination, x.state, x.remote_id) for x in row.submissions),
                        created_at=row.created_at,
                        updated_at=row.updated_at,
                        filed_at=row.filed_at,
                    )
                )
            audit.record(
                s,
                actor=self.actor.name,
                action="report.list",
                object_type="report",
                details={"count": len(out), "status": status},
            )
            return out

    # --- drafts ------------------------------------------------------------------------------

    def create_draft(
        self,
        body: dict[str, Any] | None = None,
        *,
        sources: Sequence[dict[str, Any]] = (),
        matched_at: datetime | None = None,
    ) -> DraftResult:
        """A new draft. ``sources`` names what it came from (review decisions, matches)."""
        self._require(self._draft_roles, "create reports")
        data = dict(body or {})
        data.setdefault("jurisdictions", list(self.settings.report_default_jurisdictions))
        parsed = parse_body(data)
        with self.store.session() as s:
            row = ReportRow(
                status=DRAFT,
                version=1,
                body=parsed.model_dump(mode="json", exclude_none=True),
                sources=[dict(x) for x in sources],
                destinations=[],
                created_by=self.actor.name,
                updated_by=self.actor.name,
                matched_at=matched_at,
            )
            s.add(row)
            s.flush()
            audit.record(
                s,
                actor=self.actor.name,
                action="report.create",
                object_type="report",
                object_id=row.id,
                details={"sources": [dict(x) for x in sources], "fields": changed_paths({}, row.body)},
            )
            s.refresh(row, ["files", "submissions"])
            snap = ReportSnapshot.from_row(row)
        return DraftResult(snap, self.problems(snap))

    def update(
        self, report_id: int, patch: dict[str, Any], *, expected_version: int | None = None
    ) -> DraftResult:
        """Save part of a draft: objects merge, lists and values replace, ``null`` clears."""
        self._require(self._draft_roles, "edit reports")
        if not isinstance(patch, dict):
            raise InvalidInputError("a draft change must be a JSON object")
        with self.store.session() as s:
            row = self._load(s, report_id, lock=True)
            self._editable(row, expected_version)
            before = dict(row.body or {})
            parsed = parse_body(merge(before, patch))
            after = parsed.model_dump(mode="json", exclude_none=True)
            fields = changed_paths(before, after)
            if fields:
                row.body = after
                self._touch(s, row)
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="report.update",
                    object_type="report",
                    object_id=row.id,
                    details={"fields": fields, "version": row.version},
                )
            snap = ReportSnapshot.from_row(row)
        return DraftResult(snap, self.problems(snap))

    def discard(self, report_id: int) -> None:
        """Delete a draft that was never submitted, and the content attached to it."""
        self._require(self._draft_roles, "discard reports")
        with self.store.session() as s:
            row = self._load(s, report_id, lock=True)
            if row.status != DRAFT or row.submitted_at is not None:
                raise ReportStateError(f"report {row.id} was submitted: it is kept, not discarded")
            owned = [(f.content_namespace, f.content_blob_id) for f in row.files if f.content_owned]
            audit.record(
                s,
                actor=self.actor.name,
                action="report.discard",
                object_type="report",
                object_id=row.id,
                details={"files": [f.sha256 for f in row.files]},
            )
            s.delete(row)
        for namespace, blob_id in owned:
            if blob_id:
                self.blobs.delete(namespace, blob_id)

    # --- files -------------------------------------------------------------------------------

    def add_file(
        self,
        report_id: int,
        *,
        viewed_by_human: bool | None,
        exif_viewed_by_human: bool | None,
        review_ref: str | None,
        data: bytes | None = None,
        blob: tuple[str, str] | None = None,
        file_name: str | None = None,
        media_type: str | None = None,
        facts: dict[str, Any] | None = None,
        matches: Sequence[dict[str, Any]] = (),
        matched_at: datetime | None = None,
    ) -> FileSnapshot:
        """Attach a file: its bytes (``data``, kept encrypted for the report) or an existing blob
        (``blob=(namespace, id)``, e.g. the review media, which the report does not own).

        ``viewed_by_human`` and ``exif_viewed_by_human`` come from the review record and have no
        default: pass True or False, or None when the record does not say.
        """
        self._require(self._draft_roles, "edit reports")
        for name, value in (
            ("viewed_by_human", viewed_by_human),
            ("exif_viewed_by_human", exif_viewed_by_human),
        ):
            if value is not None and not isinstance(value, bool):
                raise InvalidInputError(f"{name} must be true, false or null (from the review record)")
        if (data is None) == (blob is None):
            raise InvalidInputError("give the file's bytes or a blob reference, not both")
        content = data if data is not None else self.blobs.get(*blob)  # type: ignore[misc]
        if len(content) > self.settings.max_file_bytes:
            raise InvalidInputError(f"file of {len(content)} bytes is larger than OHSC_MAX_FILE_BYTES")
        md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        sha1 = hashlib.sha1(content, usedforsecurity=False).hexdigest()
        sha256 = hashlib.sha256(content).hexdigest()
        raw_facts = dict(facts or {})
        if file_name is not None:
            raw_facts.setdefault("file_name", file_name)
        parsed = parse_file_facts(raw_facts)
        if not parsed.original_hashes:
            parsed.original_hashes = [
                OriginalHash(type="MD5", value=md5),
                OriginalHash(type="SHA1", value=sha1),
                OriginalHash(type="SHA256", value=sha256),
            ]
        with self.store.session() as s:
            row = self._load(s, report_id, lock=True)
            self._editable(row, None)
            if any(f.sha256 == sha256 for f in row.files):
                raise ConflictError(f"report {row.id} already has this file (SHA-256 {sha256[:16]}...)")
            if data is not None:
                namespace, blob_id, owned = CONTENT_NAMESPACE, self.blobs.put(CONTENT_NAMESPACE, data), True
            else:
                assert blob is not None
                namespace, blob_id, owned = blob[0], blob[1], False
            position = max((f.position for f in row.files), default=-1) + 1
            frow = ReportFileRow(
                position=position,
                content_namespace=namespace,
                content_blob_id=blob_id,
                content_owned=owned,
                media_type=media_type,
                size=len(content),
                md5=md5,
                sha1=sha1,
                sha256=sha256,
                facts=parsed.model_dump(mode="json", exclude_none=True),
                viewed_by_human=viewed_by_human,
                exif_viewed_by_human=exif_viewed_by_human,
                review_ref=review_ref,
                matches=[dict(m) for m in matches],
                matched_at=matched_at,
                added_by=self.actor.name,
            )
            row.files.append(frow)
            if matched_at is not None and (row.matched_at is None or matched_at < row.matched_at):
                row.matched_at = matched_at
            self._touch(s, row)
            s.flush()
            audit.record(
                s,
                actor=self.actor.name,
                action="report.file.add",
                object_type="report",
                object_id=row.id,
                details={
                    "file_id": frow.id,
                    "sha256": sha256,
                    "size": len(content),
                    "review_ref": review_ref,
                    "viewed_by_human": viewed_by_human,
                    "exif_viewed_by_human": exif_viewed_by_human,
                },
            )
            return FileSnapshot.from_row(frow)

    def _file(self, row: ReportRow, file_id: int) -> ReportFileRow:
        for f in row.files:
            if f.id == file_id:
                return f
        raise NotFoundError(f"report {row.id} has no file {file_id}")

    def update_file(
        self, report_id: int, file_id: int, patch: dict[str, Any], *, expected_version: int | None = None
    ) -> DraftResult:
        """Save part of a file's facts (not the review facts: see :meth:`record_review`)."""
        self._require(self._draft_roles, "edit reports")
        locked = [k for k in REVIEW_FIELDS if k in patch]
        if locked:
            raise InvalidInputError(
                f"{', '.join(locked)} come(s) from the review record and cannot be edited here",
                detail={"fields": {k: "from the review record" for k in locked}},
            )
        with self.store.session() as s:
            row = self._load(s, report_id, lock=True)
            self._editable(row, expected_version)
            frow = self._file(row, file_id)
            before = dict(frow.facts or {})
            parsed = parse_file_facts(merge(before, patch), prefix=f"files.{frow.position}.")
            after = parsed.model_dump(mode="json", exclude_none=True)
            fields = changed_paths(before, after)
            if fields:
                frow.facts = after
                self._touch(s, row)
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="report.file.update",
                    object_type="report",
                    object_id=row.id,
                    details={"file_id": file_id, "fields": fields, "version": row.version},
                )
            snap = ReportSnapshot.from_row(row)
        return DraftResult(snap, self.problems(snap))

    def record_review(
        self,
        report_id: int,
        file_id: int,
        *,
        viewed_by_human: bool | None,
        exif_viewed_by_human: bool | None,
        review_ref: str,
    ) -> FileSnapshot:
        """Set what the review record says about a file (the service calls this on a decision)."""
        self._require(self._draft_roles, "edit reports")
        with self.store.session() as s:
            row = self._load(s, report_id, lock=True)
            self._editable(row, None)
            frow = self._file(row, file_id)
            frow.viewed_by_human = viewed_by_human
            frow.exif_viewed_by_human = exif_viewed_by_human
            frow.review_ref = review_ref
            self._touch(s, row)
            audit.record(
                s,
                actor=self.actor.name,
                action="report.file.review",
                object_type="report",
                object_id=row.id,
                details={
                    "file_id": file_id,
                    "review_ref": review_ref,
                    "viewed_by_human": viewed_by_human,
                    "exif_viewed_by_human": exif_viewed_by_human,
                },
            )
            return FileSnapshot.from_row(frow)

    def remove_file(self, report_id: int, file_id: int) -> None:
        self._require(self._draft_roles, "edit reports")
        with self.store.session() as s:
            row = self._load(s, report_id, lock=True)
            self._editable(row, None)
            frow = self._file(row, file_id)
            owned = (frow.content_namespace, frow.content_blob_id) if frow.content_owned else None
            row.files.remove(frow)
            self._touch(s, row)
            audit.record(
                s,
                actor=self.actor.name,
                action="report.file.remove",
                object_type="report",
                object_id=row.id,
                details={"file_id": file_id, "sha256": frow.sha256},
            )
        if owned and owned[1]:
            self.blobs.delete(owned[0], owned[1])

    def content(self, f: FileSnapshot) -> bytes:
        """A file's bytes from the report's copy, checked against its SHA-256."""
        if f.content_blob_id is None:
            raise ReportStateError(
                f"file {f.id} of this report was released after filing: read it from the evidence store"
            )
        data = self.blobs.get(f.content_namespace, f.content_blob_id)
        if hashlib.sha256(data).hexdigest() != f.sha256:
            raise BlobIntegrityError(f"file {f.id} does not match its SHA-256")
        return data

    # --- checks ------------------------------------------------------------------------------

    def destinations_of(self, report: ReportSnapshot) -> list[str]:
        """Fixed at the first submission; before that, from the jurisdictions and settings."""
        if report.destinations:
            return list(report.destinations)
        return dest_registry.destinations_for(self.settings, report.body.jurisdictions)

    def problems(self, report: ReportSnapshot) -> list[Problem]:
        provider = self.provider
        out = common_problems(report, provider)
        if report.body.jurisdictions:
            try:
                names = self.destinations_of(report)
            except ConfigError as exc:
                return [*out, Problem("configuration", exc.message)]
            if not names:
                out.append(
                    Problem(
                        "jurisdictions",
                        f"no destination is configured for {', '.join(report.body.jurisdictions)} "
                        "(OHSC_REPORT_DESTINATIONS)",
                    )
                )
            for name in names:
                out += self.destination(name).problems(report, provider)
        return out

    def check(self, report_id: int) -> DraftResult:
        snap = self.get(report_id)
        return DraftResult(snap, self.problems(snap))

    def preview(self, report_id: int, destination: str) -> dict[str, bytes]:
        """The documents ``destination`` would receive (ids not known yet are placeholders)."""
        snap = self.get(report_id)
        return self.destination(destination).preview(snap, self.provider)

    def stats(self, *, since: datetime | None = None, until: datetime | None = None) -> ReportStats:
        """Figures for transparency reports (:mod:`ohsc.reports.stats`)."""
        from ohsc.reports.stats import report_stats

        self._require(self._read_roles, "read report statistics")
        figures = report_stats(self.store, since=since, until=until)
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor.name,
                action="report.stats",
                object_type="report",
                details={
                    "since": since.isoformat() if since else None,
                    "until": until.isoformat() if until else None,
                },
            )
        return figures

    # --- filing (ohsc.reports.filing) ----------------------------------------------------------

    def submit(self, report_id: int, *, take_over: bool = False) -> SubmitResult:
        """Submit to every destination, or resume an interrupted submission. See :mod:`ohsc.reports.filing`."""
        from ohsc.reports.filing import Filing

        self._require(self._submit_roles, "submit reports")
        return Filing(self).submit(report_id, take_over=take_over)

    def retract(self, report_id: int, *, reason: str) -> SubmitResult:
        from ohsc.reports.filing import Filing

        self._require(self._submit_roles, "retract reports")
        return Filing(self).retract(report_id, reason=reason)
