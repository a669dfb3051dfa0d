"""Files of a report: attach (bytes or an existing blob), describe, record the review, remove.

Whether a person viewed a file, and its EXIF data, is taken from the review record: the caller
passes ``viewed_by_human`` and ``exif_viewed_by_human`` explicitly when adding a file (None means
the record does not say), and only :meth:`ReportFiles.record_review` changes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ohsc import audit
from ohsc.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ReportStateError,
)
from ohsc.media.blobs import BlobIntegrityError
from ohsc.reports.draft import (
    FileFacts,
    OriginalHash,
    changed_paths,
    merge,
    parse_file_facts,
)
from ohsc.reports.service_base import DraftResult, ReportServiceBase
from ohsc.reports.snapshot import FileSnapshot, ReportSnapshot
from ohsc.reports.tables import (
    ReportFileRow,
    ReportRow,
)
from ohsc.store.unit import unit_of_work

if TYPE_CHECKING:
    pass

#: Blob namespace of content attached to drafts (deleted once the report is filed).
CONTENT_NAMESPACE = "reports"
#: File fields that come from the review record and cannot be edited like the others.
REVIEW_FIELDS = ("viewed_by_human", "exif_viewed_by_human", "review_ref")


class ReportFiles(ReportServiceBase):
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
        content = self._content(viewed_by_human, exif_viewed_by_human, data, blob)
        md5, sha1, sha256 = _digests(content)
        parsed = _facts(facts, file_name, md5=md5, sha1=sha1, sha256=sha256)
        with unit_of_work(self.store, self.blobs) as work:  # the blob goes if the row does not commit
            s = work.session
            row = self._load(s, report_id, lock=True)
            self._editable(row, None)
            if any(f.sha256 == sha256 for f in row.files):
                raise ConflictError(f"report {row.id} already has this file (SHA-256 {sha256[:16]}...)")
            if data is not None:
                namespace, blob_id, owned = CONTENT_NAMESPACE, work.put(CONTENT_NAMESPACE, data), True
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

    def _content(
        self,
        viewed_by_human: bool | None,
        exif_viewed_by_human: bool | None,
        data: bytes | None,
        blob: tuple[str, str] | None,
    ) -> bytes:
        """The file's bytes, once the review record's answers and the size are checked."""
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
        return content

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


def _digests(content: bytes) -> tuple[str, str, str]:
    """MD5, SHA-1 and SHA-256 of a file, in hex."""
    return (
        hashlib.md5(content, usedforsecurity=False).hexdigest(),
        hashlib.sha1(content, usedforsecurity=False).hexdigest(),
        hashlib.sha256(content).hexdigest(),
    )


def _facts(
    facts: dict[str, Any] | None, file_name: str | None, *, md5: str, sha1: str, sha256: str
) -> FileFacts:
    """The file's facts as given, checked; its own hashes as the original ones unless given."""
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
    return parsed
