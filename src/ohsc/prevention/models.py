"""Tables of the prevention package. Table and column names are storage keys: never rename.

Nothing here holds a checked text, a user identifier or an IP address: deterrence keeps
aggregate counters only, and the tip form's rate limit keeps salted hashes whose salt is
deleted after a day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow


class HelpServiceRow(Base):
    """One help service in the public directory."""

    __tablename__ = "help_services"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Stable key of a seeded entry (``stop-it-now-uk``); None for services added by an admin.
    seed_key: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: ISO 3166 alpha-2 codes; ``*`` for services open to every country (online services).
    countries: Mapped[list[str]] = mapped_column(JsonType, default=list)
    #: Language tags (``en``, ``de``, ``pt-br``).
    languages: Mapped[list[str]] = mapped_column(JsonType, default=list)
    #: self | parents | survivors | professionals
    audiences: Mapped[list[str]] = mapped_column(JsonType, default=list)
    phone: Mapped[str] = mapped_column(String(60), default="")
    phone_note: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    chat_url: Mapped[str] = mapped_column(String(500), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    hours: Mapped[str] = mapped_column(String(300), default="")
    #: Public pages the contact details were checked against.
    sources: Mapped[list[str]] = mapped_column(JsonType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Order within the same country and language (lower first).
    priority: Mapped[int] = mapped_column(Integer, default=100)
    verified_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PreventionCounterRow(Base):
    """Aggregate counts per day: checks, triggers per list and locale, clicks per resource, tips."""

    __tablename__ = "prevention_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: checks | triggers | clicks | views | tips | tips_discarded | tips_rate_limited
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Term list name for triggers; empty otherwise.
    list_name: Mapped[str] = mapped_column(String(100), primary_key=True, default="")
    #: The catalogue locale the message was shown in (one of a fixed set); empty if none.
    locale: Mapped[str] = mapped_column(String(35), primary_key=True, default="")
    #: Help service id for clicks; 0 otherwise.
    resource_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class TraceObjectRow(Base):
    """A sanitised picture of an object from an investigation, with a question for the public."""

    __tablename__ = "trace_objects"
    __table_args__ = (Index("ix_trace_object_status", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Random id used in public addresses, so objects cannot be enumerated.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    #: draft | pending | published | identified | retired
    status: Mapped[str] = mapped_column(String(20), default="draft")
    image_blob: Mapped[str] = mapped_column(String(32))
    thumb_blob: Mapped[str] = mapped_column(String(32))
    image_sha256: Mapped[str] = mapped_column(String(64))
    image_format: Mapped[str] = mapped_column(String(10))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(200))
    submitted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TraceTipRow(Base):
    """An anonymous tip about a published object. No IP address or identifier is kept."""

    __tablename__ = "trace_tips"
    __table_args__ = (
        Index("ix_trace_tip_object", "object_id"),
        Index("ix_trace_tip_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("trace_objects.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    #: The page language the tip was written from (one of the catalogue's locales).
    locale: Mapped[str] = mapped_column(String(35), default="")
    #: new | useful | not_useful | duplicate | spam
    status: Mapped[str] = mapped_column(String(20), default="new")
    tags: Mapped[list[str]] = mapped_column(JsonType, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    triaged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TraceRateSaltRow(Base):
    """The random salt of one UTC day for hashing client addresses; deleted after the day."""

    __tablename__ = "trace_rate_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))


class TraceRateBucketRow(Base):
    """Tips counted per salted address hash and window (hour or day)."""

    __tablename__ = "trace_rate_buckets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    #: hour | day
    window: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class TraceUsedTokenRow(Base):
    """Form tokens already used (each token sends one tip), kept until they would expire."""

    __tablename__ = "trace_used_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
