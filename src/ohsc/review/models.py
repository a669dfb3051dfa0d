"""The review queue, decisions, media reveals and reference thumbnails."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow


class ReviewItemRow(Base):
    """One content record waiting for (or past) human review."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_queue", "status", "priority", "id"),
        Index("ix_review_claimed_by", "claimed_by"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_item_id: Mapped[int] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), unique=True
    )
    #: open | awaiting_second | escalated | decided
    status: Mapped[str] = mapped_column(String(20), default="open")
    #: higher first
    priority: Mapped[int] = mapped_column(Integer, default=0)
    #: why it is here: rule | flood
    reason: Mapped[str] = mapped_column(String(16), default="rule")
    bank_names: Mapped[list[str]] = mapped_column(JsonType, default=list)
    categories: Mapped[list[str]] = mapped_column(JsonType, default=list)
    best_distance: Mapped[int] = mapped_column(Integer, default=0)
    two_person: Mapped[bool] = mapped_column(Boolean, default=False)
    report_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: two-person review: the actor who confirmed first (``user:NAME`` or ``apikey:PREFIX``)
    first_confirmed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: confirm | not_abuse (final decisions only)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewDecisionRow(Base):
    """The item's history: every decision a reviewer took (skips and escalations too), with
    whether they saw the media, and every correction (an undo, a reopen with its reason)."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        Index("ix_decision_item", "item_id"),
        Index("ix_decision_user_time", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"))
    #: the user (None for an API client)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: ``user:NAME`` or ``apikey:PREFIX``, as in the audit log
    actor: Mapped[str] = mapped_column(String(200))
    #: confirm | not_abuse | escalate | skip, or a correction: undo | reopen
    decision: Mapped[str] = mapped_column(String(20))
    #: the reviewer's note; for ``reopen`` the reason
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: a human viewed the unblurred media of this item before deciding
    viewed_unblurred: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the bank the content's hashes were added to (confirm -> bank, not_abuse -> allowlist)
    added_to_bank_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the item's state before this decision (``status``, ``first_confirmed_by``): what an undo restores
    prior_state: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    #: bank entries this decision created (or brought back): what an undo or a reopen withdraws
    added_entry_ids: Mapped[list[int] | None] = mapped_column(JsonType, nullable=True)
    #: when the reviewer undid this decision (an ``undo`` row follows it in the history)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


#: reveal targets that show the item's own media sharp: greyscale first, then full colour
UNBLURRED = ("grey", "media")


class MediaRevealRow(Base):
    """A reviewer revealed unblurred media (exposure counters and reports read these)."""

    __tablename__ = "media_reveals"
    __table_args__ = (
        Index("ix_reveal_user_time", "user_id", "at"),
        Index("ix_reveal_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    #: media (full colour) | grey (sharp greyscale) | reference (a bank's thumbnail)
    target: Mapped[str] = mapped_column(String(16))
    #: click | hold
    mode: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the browser reported the media blurred again or the page left (None: no end arrived)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RevealRefusalRow(Base):
    """A reveal refused because the reviewer's daily exposure limit was reached."""

    __tablename__ = "reveal_refusals"
    __table_args__ = (Index("ix_refusal_user_time", "user_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    target: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EntryThumbnailRow(Base):
    """A small reference thumbnail of a bank entry, kept encrypted when the bank's policy says so."""

    __tablename__ = "entry_thumbnails"

    entry_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    blob_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
