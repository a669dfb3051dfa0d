"""Action rules, per-bank policies and the webhook outbox. Names are storage keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow


class ActionRuleRow(Base):
    """What a match in a bank (and category) does. The most specific rule wins."""

    __tablename__ = "action_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), nullable=True)
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: block | review | allow
    verdict: Mapped[str] = mapped_column(String(16))
    review: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    report: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankPolicyRow(Base):
    """Per-bank review and flood settings (absent: the defaults)."""

    __tablename__ = "bank_policies"

    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), primary_key=True)
    two_person_review: Mapped[bool] = mapped_column(Boolean, default=False)
    flood_max_matches: Mapped[int | None] = mapped_column(Integer, nullable=True)
    flood_window_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    keep_thumbnails: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookRow(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    #: the signing secret, sealed with the content key (AES-256-GCM)
    secret_sealed: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JsonType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxRow(Base):
    """One event to deliver to one webhook; written in the transaction that caused it."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: pending | delivered | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryRow(Base):
    """The delivery log: one row per attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_delivery_outbox", "outbox_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("webhook_outbox.id", ondelete="CASCADE"))
    webhook_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
