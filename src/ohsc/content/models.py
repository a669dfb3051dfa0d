"""Content records (what a platform submitted) and the matches found for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow


class ContentRow(Base):
    """One submission to ``/v1/match``: its signals, verdict and (when kept for review) media."""

    __tablename__ = "content_items"
    __table_args__ = (
        Index("ix_content_submitted", "submitted_at"),
        Index("ix_content_matched", "matched", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: the caller's own id for the content (``content_id`` in the API): idempotency key
    client_ref: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    api_key_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: upload | signals | url
    source: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    media_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    media_format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    signals: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: block | review | allow | none
    verdict: Mapped[str] = mapped_column(String(16))
    matched: Mapped[bool] = mapped_column(Boolean, default=False)
    #: what the API answered (replayed for a repeated content_id)
    result: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    media_blob_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    media_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MatchRecordRow(Base):
    """One bank entry that matched one content record (copied, so it survives bank changes)."""

    __tablename__ = "match_records"
    __table_args__ = (
        Index("ix_match_entry_time", "entry_id", "created_at"),
        Index("ix_match_content", "content_item_id"),
        Index("ix_match_bank_time", "bank_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(BigInteger)
    bank_name: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[int] = mapped_column(BigInteger)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signal_type: Mapped[str] = mapped_column(String(32))
    distance: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    labels: Mapped[list[str]] = mapped_column(JsonType, default=list)
    source: Mapped[str] = mapped_column(String(32))
    #: match | allowlist (the allowlist hit) | suppressed (hidden by an allowlist hit)
    kind: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    flood_controlled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
