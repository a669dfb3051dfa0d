"""Tables of reports and their submissions. Table and column names are storage keys: never rename.

A report (``reports``) gathers files (``report_files``) and accounts (in the draft body). Each
destination it goes to has a submission (``report_submissions``) whose ``state`` and remote ids
are written after every step, so an interrupted submission resumes where it stopped; per-file
progress is in ``report_submission_files``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow

# Report status (storage keys).
DRAFT = "draft"
SUBMITTING = "submitting"
FILED = "filed"
FAILED = "failed"
RETRACTED = "retracted"
REPORT_STATUSES = (DRAFT, SUBMITTING, FILED, FAILED, RETRACTED)
#: The counter (``ohsc_counters``) report ids come from: an id is never given out twice, even
#: after its draft was discarded (migration ``0009_report_ids_never_reused`` starts it).
REPORT_ID_COUNTER = "report_id"
#: A draft can be edited in these states.
EDITABLE = (DRAFT, FAILED)


class ReportRow(Base):
    __tablename__ = "reports"
    __table_args__ = (Index("ix_report_status", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    #: Bumped by every save; a save naming an older version is refused (two editors).
    version: Mapped[int] = mapped_column(Integer, default=1)
    body: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: Where the draft came from: ``[{"type": "review_decision", "id": "..."}]``.
    sources: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    #: The destinations chosen at the first submission (fixed from then on).
    destinations: Mapped[list[str]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))
    #: The earliest match behind the report (for "time from match to report").
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retraction_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    files: Mapped[list[ReportFileRow]] = relationship(
        back_populates="report", order_by="ReportFileRow.position", cascade="all, delete-orphan"
    )
    submissions: Mapped[list[SubmissionRow]] = relationship(
        back_populates="report", order_by="SubmissionRow.id", cascade="all, delete-orphan"
    )


class ReportFileRow(Base):
    __tablename__ = "report_files"
    __table_args__ = (UniqueConstraint("report_id", "sha256", name="uq_report_file_sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    #: Encrypted blob holding the content (``reports`` namespace, or the review media's own).
    content_namespace: Mapped[str] = mapped_column(String(32))
    content_blob_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: True when the blob belongs to the report (and is deleted once the report is filed).
    content_owned: Mapped[bool] = mapped_column(Boolean, default=True)
    media_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha1: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    #: Editable facts (:class:`ohsc.reports.draft.FileFacts`).
    facts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: From the review record, never defaulted: True, False, or None (unknown).
    viewed_by_human: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    exif_viewed_by_human: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: Which review record said so (a review decision id).
    review_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Bank entries this file matched: ids and hashes only.
    matches: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))

    report: Mapped[ReportRow] = relationship(back_populates="files")


# Submission states (storage keys).
S_PENDING = "pending"
S_OPENING = "opening"
S_OPEN = "open"
S_FINISHING = "finishing"
S_FINISHED = "finished"
S_RETRACTED = "retracted"
S_FAILED = "failed"

# Per-file states.
F_PENDING = "pending"
F_UPLOADING = "uploading"
F_UPLOADED = "uploaded"
F_DESCRIBED = "described"


class SubmissionRow(Base):
    __tablename__ = "report_submissions"
    __table_args__ = (UniqueConstraint("report_id", "destination", name="uq_submission_destination"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(20), default=S_PENDING)
    #: The destination's id for the report (NCMEC report id, package name).
    remote_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Remote reports opened and abandoned on the way (retracted or expired before finishing).
    abandoned: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    receipt: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    report: Mapped[ReportRow] = relationship(back_populates="submissions")
    files: Mapped[list[SubmissionFileRow]] = relationship(
        back_populates="submission", order_by="SubmissionFileRow.id", cascade="all, delete-orphan"
    )


class SubmissionFileRow(Base):
    __tablename__ = "report_submission_files"
    __table_args__ = (UniqueConstraint("submission_id", "report_file_id", name="uq_submission_file"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("report_submissions.id", ondelete="CASCADE"))
    report_file_id: Mapped[int] = mapped_column(ForeignKey("report_files.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default=F_PENDING)
    remote_file_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    remote_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[SubmissionRow] = relationship(back_populates="files")
