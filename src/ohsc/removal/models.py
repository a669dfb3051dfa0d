"""Tables of the removal package. Table and column names are storage keys: never rename.

* ``crawl_urls`` is the persistent frontier: every URL reported or found, one row per URL
  (``url_key`` is the SHA-256 of the normalised URL), with its state. A crawler takes URLs by
  writing a lease; a crawler killed mid-way leaves leases that run out, and the URLs are taken
  again. Nothing about the content of a page or of unmatched media is kept: only the URL, its
  state and the HTTP status.
* ``crawl_url_sources``: who reported a URL (analyst, platform, public form); duplicates merge
  into one URL with several sources.
* ``takedowns``: a matched media URL (the match, the evidence item, the host) and its removal:
  notices sent, re-checks, removal time.
* ``takedown_notices``: each notice sent (recipient, when, how), never its media.
* ``removal_hosts``: what RDAP said about a host's address (cache); ``removal_contacts``: the
  abuse contacts operators set for a host, which win over RDAP.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ohsc.store.models import Base, BigId
from ohsc.store.types import JsonType, UTCDateTime, utcnow


class CrawlUrlRow(Base):
    __tablename__ = "crawl_urls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url_key: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255), index=True)
    #: page | media
    kind: Mapped[str] = mapped_column(String(8), default="page")
    #: links followed from the reported URL to get here (0: reported)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    #: the reported URL this one was found from (itself for a reported URL)
    seed_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    parent_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    #: queued | done | failed
    state: Mapped[str] = mapped_column(String(8), default="queued")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    #: media found on the page, and of them matched (pages only)
    media_found: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_crawl_urls_state", "state", "lease_until"),
        # the order crawlers take URLs in (Frontier.take): walked, not sorted
        Index("ix_crawl_urls_take", "state", "depth", "id"),
    )


class CrawlUrlSourceRow(Base):
    __tablename__ = "crawl_url_sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url_id: Mapped[int] = mapped_column(ForeignKey("crawl_urls.id", ondelete="CASCADE"), index=True)
    #: analyst | api | public
    source: Mapped[str] = mapped_column(String(16))
    #: who: ``cli:alice``, ``apikey:3``, ``public``
    reporter: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("url_id", "source", "reporter", name="uq_crawl_url_source"),)


class TakedownRow(Base):
    __tablename__ = "takedowns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: the media URL
    url: Mapped[str] = mapped_column(Text)
    #: the page it was found on
    page_url: Mapped[str] = mapped_column(Text, default="")
    host: Mapped[str] = mapped_column(String(255), index=True)
    crawl_url_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    md5: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sha1: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bank: Mapped[str] = mapped_column(String(200), default="")
    entry_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    evidence_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    #: awaiting_confirmation | open | removed | dismissed
    status: Mapped[str] = mapped_column(String(24), default="open", index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # who hosts it (from RDAP or an operator's contact)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    network: Mapped[str | None] = mapped_column(String(200), nullable=True)
    country: Mapped[str | None] = mapped_column(String(8), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(320), nullable=True)
    upstream_contact: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # notices and re-checks
    notices_sent: Mapped[int] = mapped_column(Integer, default=0)
    first_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    last_check_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    etag: Mapped[str | None] = mapped_column(String(300), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(100), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: seconds from the first notice to the first re-check that found it gone
    removal_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    removed_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class TakedownNoticeRow(Base):
    __tablename__ = "takedown_notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    takedown_id: Mapped[int] = mapped_column(ForeignKey("takedowns.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    #: host | upstream
    role: Mapped[str] = mapped_column(String(16), default="host")
    language: Mapped[str] = mapped_column(String(16), default="en")
    #: smtp | outbox
    channel: Mapped[str] = mapped_column(String(16), default="smtp")
    message_id: Mapped[str] = mapped_column(String(200), default="")
    #: sent | failed
    status: Mapped[str] = mapped_column(String(8), default="sent")
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemovalHostRow(Base):
    """RDAP's answer for a host (cached ``OHSC_RDAP_CACHE_HOURS``)."""

    __tablename__ = "removal_hosts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    network: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cidr: Mapped[str | None] = mapped_column(String(200), nullable=True)
    country: Mapped[str | None] = mapped_column(String(8), nullable=True)
    abuse_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    upstream_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    raw: Mapped[dict[str, object] | None] = mapped_column(JsonType, nullable=True)
    looked_up_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemovalContactRow(Base):
    """An operator's abuse contact for a host (wins over RDAP)."""

    __tablename__ = "removal_contacts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(16), default="en")
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
