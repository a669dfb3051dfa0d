"""Tables of the evidence store. Table and column names are storage keys: never rename."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow


class EvidenceItemRow(Base):
    """One preserved piece of content (a reported file, the documents sent) and its metadata."""

    __tablename__ = "evidence_items"
    __table_args__ = (
        Index("ix_evidence_subject", "subject_type", "subject_id"),
        Index("ix_evidence_retain_until", "retain_until"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Idempotency key of whoever preserved it (``report:12:file:3``): preserving twice is a no-op.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(100))
    #: file | documents
    kind: Mapped[str] = mapped_column(String(32))
    #: Blob in the ``evidence`` namespace; None once purged.
    blob_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    #: Identifiers and hashes describing the content (file name, MD5, report ids), never the content.
    facts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    jurisdictions: Mapped[list[str]] = mapped_column(JsonType, default=list)
    retention_days: Mapped[int] = mapped_column(Integer)
    preserved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    preserved_by: Mapped[str] = mapped_column(String(200))
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    purged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    holds: Mapped[list[EvidenceHoldRow]] = relationship(back_populates="item", order_by="EvidenceHoldRow.id")


class EvidenceHoldRow(Base):
    """A legal hold: keeps an item past its retention period until a date, or until released."""

    __tablename__ = "evidence_holds"
    __table_args__ = (Index("ix_evidence_hold_item", "item_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"))
    reason: Mapped[str] = mapped_column(Text)
    #: The legal process or case number behind the hold, if any.
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: None: until released.
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    item: Mapped[EvidenceItemRow] = relationship(back_populates="holds")
