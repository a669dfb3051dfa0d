"""Tables of triage cases. Table and column names are storage keys: never rename."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: category scheme: us | uk (:mod:`ohsc.cases.categories`)
    scheme: Mapped[str] = mapped_column(String(8), default="us")
    #: largest PDQ distance between near-duplicates of one stack
    stack_threshold: Mapped[int] = mapped_column(Integer, default=31)
    #: how many analysts must choose the same category before it is final
    agreement: Mapped[int] = mapped_column(Integer, default=1)
    #: stacks from one camera and folder taken this close (seconds) form a series
    series_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseSourceRow(Base):
    """One ingested source: a folder, an archive, a disk image or a VICS export."""

    __tablename__ = "case_sources"
    __table_args__ = (UniqueConstraint("case_id", "path", name="uq_case_source_path"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    #: folder | archive | file | disk | vics
    kind: Mapped[str] = mapped_column(String(16))
    #: the source as given (absolute path)
    path: Mapped[str] = mapped_column(Text)
    #: running | done | interrupted
    status: Mapped[str] = mapped_column(String(16), default="running")
    files: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    added_by: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: while it runs: files found so far and files hashed (for a progress figure)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: why a background ingest stopped (the error's type and message, no content)
    failure: Mapped[str | None] = mapped_column(Text, nullable=True)


class CaseItemRow(Base):
    """One unique content of a case (exact duplicates are one item with many locations)."""

    __tablename__ = "case_items"
    __table_args__ = (
        UniqueConstraint("case_id", "md5", name="uq_case_item_md5"),
        Index("ix_case_item_grid", "case_id", "known", "id"),
        Index("ix_case_item_stack", "case_id", "stack_id"),
        Index("ix_case_item_category", "case_id", "category"),
        Index("ix_case_item_series", "case_id", "series_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    md5: Mapped[str] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: vPDQ of a video or animation (its frames as one line of text, as scans write it)
    vpdq: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: image | video | other | empty (``vics``: a record of an imported export, no file)
    media_kind: Mapped[str] = mapped_column(String(16), default="other")
    media_format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: matched a bank: its bank and category (a VICS code when the bank's category is one)
    known: Mapped[bool] = mapped_column(Boolean, default=False)
    known_bank: Mapped[str | None] = mapped_column(String(200), nullable=True)
    known_category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: the category in force: an agreed analysts' one, else the known one (VICS code text)
    category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: how the category came: known | agreed | import
    category_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: analysts chose different categories and none has the agreement yet
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: near-duplicate stack: the id of its first item (its own id when it starts one)
    stack_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: series of stacks (same camera, folder, close times): the id of its first item
    series_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    camera: Mapped[str | None] = mapped_column(String(300), nullable=True)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: EXIF fields as text (name -> value)
    exif: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    locations: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseLocationRow(Base):
    """Where one copy of an item was found. Originals are never modified."""

    __tablename__ = "case_locations"
    __table_args__ = (
        UniqueConstraint("source_id", "path", name="uq_case_location"),
        Index("ix_case_location_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("case_items.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("case_sources.id", ondelete="CASCADE"))
    #: path inside the source (archive members as ``archive.zip!dir/a.jpg``)
    path: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(Text, default="")
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: the file system says the file was deleted (disk images)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseVoteRow(Base):
    """An analyst's current category for an item (one row per analyst and item)."""

    __tablename__ = "case_votes"
    __table_args__ = (
        UniqueConstraint("item_id", "actor", name="uq_case_vote"),
        Index("ix_case_vote_case", "case_id", "actor"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("case_items.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseRevealRow(Base):
    """An analyst was shown an item unblurred (counts against the review exposure budget)."""

    __tablename__ = "case_reveals"
    __table_args__ = (Index("ix_case_reveal_user_time", "user_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("case_items.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseStackRow(Base):
    """How many items each near-duplicate stack of a case holds, kept as items join it, so the
    grid's stack-size filter reads stacks of that size instead of counting every item."""

    __tablename__ = "case_stacks"
    __table_args__ = (Index("ix_case_stack_size", "case_id", "size"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    #: the stack's first item (``case_items.stack_id``)
    stack_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(Integer, default=0)
