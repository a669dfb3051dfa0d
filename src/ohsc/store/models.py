"""SQLAlchemy models of the core store. Table and column names are storage keys: never rename.

Every change to a bank entry that matters for matching (add, retract, restore, delete of its
bank) takes a new value from the ``entry_seq`` counter and writes it to ``bank_entries.seq``;
indexes remember the highest ``seq`` they have applied and catch up incrementally.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ohsc.store.types import JsonType, UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger there would not.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class MetaValue(Base):
    """Key/value facts about the store itself (its random ``store_id``)."""

    __tablename__ = "ohsc_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Counter(Base):
    """Monotonic counters; incrementing one serialises writers until commit (ordering guarantee)."""

    __tablename__ = "ohsc_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class BankRow(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: Largest PDQ (and other distance signal) distance that counts as a match; None: default.
    threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_allowlist: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Robust matching (:mod:`ohsc.robust`): pictures added keep view hashes and local features.
    robust: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    entries: Mapped[list[EntryRow]] = relationship(
        back_populates="bank", cascade="all, delete-orphan", passive_deletes=True
    )


class EntryRow(Base):
    __tablename__ = "bank_entries"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "value", name="uq_entry_bank_signal_value"),
        Index("ix_entry_signal_value", "signal_type", "value"),
        Index("ix_entry_bank_external", "bank_id", "external_id"),
        Index("ix_entry_seq", "seq"),
        Index("ix_entry_bank_seq", "bank_id", "seq"),  # a feed page: one bank's changes in order
        {"sqlite_autoincrement": True},  # entry ids are index labels: never reuse one
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(512))
    quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    labels: Mapped[list[str]] = mapped_column(JsonType, default=list)
    #: manual | file | exchange | review | api
    source: Mapped[str] = mapped_column(String(32), default="manual")
    #: e.g. the imported file's name or the exchange's name
    source_ref: Mapped[str | None] = mapped_column(String(500), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retraction_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)

    bank: Mapped[BankRow] = relationship(back_populates="entries")

    @property
    def retracted(self) -> bool:
        return self.retracted_at is not None


class EntrySourceRow(Base):
    """One source record listing a bank entry: who lists the hash (``source``: ``import``,
    ``file``, ``manual``, ``api``, ``review``, ``exchange:<name>``, ...), under which of its own
    ids (``external_id``, ``""`` for none), with what category and labels, and when. A withdrawal
    removes one record (``withdrawn_at``); the entry stops matching only when no live record is
    left (see :mod:`ohsc.banks.records`)."""

    __tablename__ = "entry_sources"
    __table_args__ = (
        UniqueConstraint("entry_id", "source", "external_id", name="uq_entry_source_record"),
        Index("ix_entry_source_bank_external", "bank_id", "source", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(100))
    #: the source's own id for the record; "" when it has none
    external_id: Mapped[str] = mapped_column(String(200), default="")
    #: e.g. the file it was last read from
    source_ref: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: which of the source's records with this external id listed the signal, when a format
    #: can tell (VICS: the record's first hash), so exports never pair hashes of two records
    record_key: Mapped[str | None] = mapped_column(String(600), nullable=True)
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    labels: Mapped[list[str]] = mapped_column(JsonType, default=list)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class EntryDeletion(Base):
    """Entries deleted with their bank, so that every running index drops them at its next sync."""

    __tablename__ = "entry_deletions"
    __table_args__ = (Index("ix_entry_deletion_seq", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)


class ImportRunRow(Base):
    """One import of a file into a bank, with what it did."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(32))
    source_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: running | finished | failed (a run still ``running`` with no process behind it was cut off)
    status: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    #: size of the file and how much of it the batches committed so far came from (progress)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bytes_read: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AuditEvent(Base):
    """Append-only, hash-chained log of decisions and changes (see :mod:`ohsc.audit`)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: id of the audit key whose HMAC is ``hash``; None: written before the chain was keyed
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
