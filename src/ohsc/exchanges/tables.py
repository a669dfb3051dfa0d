"""Tables of exchanges: configured exchanges (subscriptions), published feeds and their partners,
feedback received. Table and column names are storage keys: never rename."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow


class ExchangeRow(Base):
    """An exchange this node fetches from, into one of its banks."""

    __tablename__ = "exchanges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    #: options that are not secret (URLs, the published bank's name, the pinned public key)
    options: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: JSON of the secret options, AES-GCM sealed with the content key (base64)
    secrets_sealed: Mapped[str] = mapped_column(Text, default="")
    #: where the next fetch resumes (opaque to everything but the exchange's kind); None: start
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: seconds between scheduled syncs (0: by hand only)
    interval_seconds: Mapped[int] = mapped_column(BigInteger, default=300)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the highest review decision id whose feedback was considered (feedback write-back)
    feedback_cursor: Mapped[int] = mapped_column(BigInteger, default=0)


class FeedGrantRow(Base):
    """A bank published as a feed to one partner (an API key with the ``feed`` scope)."""

    __tablename__ = "feed_grants"
    __table_args__ = (UniqueConstraint("bank_id", "api_key_id", name="uq_feed_grant"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedFeedbackRow(Base):
    """A partner's verdict on one entry of a published feed (``POST /v1/feeds/{bank}/feedback``)."""

    __tablename__ = "feed_feedback"
    __table_args__ = (Index("ix_feed_feedback_entry", "entry_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(BigInteger)
    api_key_id: Mapped[int] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExchangeStagedRow(Base):
    """One signal (or withdrawal) of a record an exchange sent while its bank was empty (see
    :mod:`ohsc.exchanges.staging`): kept in arrival order, moved into the bank at the end of the
    sync and deleted then. ``record`` numbers the records in arrival order (a record's signals
    share it); ``replay``: the move applies it record by record (withdrawals, payload signals)."""

    __tablename__ = "exchange_staged"
    __table_args__ = (Index("ix_exchange_staged_record", "exchange_id", "record"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    record: Mapped[int] = mapped_column(BigInteger)
    source_id: Mapped[str] = mapped_column(String(200))
    signal_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    value: Mapped[str | None] = mapped_column(String(512), nullable=True)
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    labels: Mapped[list[str]] = mapped_column(JsonType, default=list)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    replay: Mapped[bool] = mapped_column(Boolean, default=False)
