"""removal: the crawl frontier and its sources, takedowns and their notices, hosts and contacts

Revision ID: 0011_removal
Revises: 0009_report_ids_never_reused
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ohsc.store.types

revision = "0011_removal"
down_revision = "0009_report_ids_never_reused"  # re-chained after merging main (was 0007_review_history)
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = ohsc.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crawl_urls",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("url_key", sa.String(64), nullable=False, unique=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("seed_id", _ID, nullable=True),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("lease_until", _AT, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("media_found", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("fetched_at", _AT, nullable=True),
    )
    op.create_index("ix_crawl_urls_host", "crawl_urls", ["host"])
    op.create_index("ix_crawl_urls_seed_id", "crawl_urls", ["seed_id"])
    op.create_index("ix_crawl_urls_state", "crawl_urls", ["state", "lease_until"])
    op.create_table(
        "crawl_url_sources",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("url_id", _ID, sa.ForeignKey("crawl_urls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reporter", sa.String(200), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("added_at", _AT, nullable=False),
        sa.UniqueConstraint("url_id", "source", "reporter", name="uq_crawl_url_source"),
    )
    op.create_index("ix_crawl_url_sources_url_id", "crawl_url_sources", ["url_id"])
    op.create_table(
        "takedowns",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("url_key", sa.String(64), nullable=False, unique=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("page_url", sa.Text(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("crawl_url_id", _ID, nullable=True),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("sha1", sa.String(40), nullable=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("bank", sa.String(200), nullable=False),
        sa.Column("entry_id", _ID, nullable=True),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("evidence_id", _ID, nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("first_seen_at", _AT, nullable=False),
        sa.Column("confirmed_at", _AT, nullable=True),
        sa.Column("confirmed_by", sa.String(200), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("network", sa.String(200), nullable=True),
        sa.Column("country", sa.String(8), nullable=True),
        sa.Column("contact", sa.String(320), nullable=True),
        sa.Column("upstream_contact", sa.String(320), nullable=True),
        sa.Column("notices_sent", sa.Integer(), nullable=False),
        sa.Column("first_notice_at", _AT, nullable=True),
        sa.Column("last_notice_at", _AT, nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("next_check_at", _AT, nullable=True),
        sa.Column("last_checked_at", _AT, nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("last_check_status", sa.Integer(), nullable=True),
        sa.Column("etag", sa.String(300), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("removed_at", _AT, nullable=True),
        sa.Column("removal_seconds", sa.Float(), nullable=True),
        sa.Column("removed_reason", sa.String(40), nullable=True),
    )
    op.create_index("ix_takedowns_host", "takedowns", ["host"])
    op.create_index("ix_takedowns_status", "takedowns", ["status"])
    op.create_index("ix_takedowns_next_check_at", "takedowns", ["next_check_at"])
    op.create_table(
        "takedown_notices",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("takedown_id", _ID, sa.ForeignKey("takedowns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("sent_at", _AT, nullable=False),
    )
    op.create_index("ix_takedown_notices_takedown_id", "takedown_notices", ["takedown_id"])
    op.create_table(
        "removal_hosts",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("network", sa.String(200), nullable=True),
        sa.Column("cidr", sa.String(200), nullable=True),
        sa.Column("country", sa.String(8), nullable=True),
        sa.Column("abuse_email", sa.String(320), nullable=True),
        sa.Column("upstream_email", sa.String(320), nullable=True),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("raw", _JSON, nullable=True),
        sa.Column("looked_up_at", _AT, nullable=False),
    )
    op.create_table(
        "removal_contacts",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("added_at", _AT, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("removal_contacts")
    op.drop_table("removal_hosts")
    op.drop_index("ix_takedown_notices_takedown_id", table_name="takedown_notices")
    op.drop_table("takedown_notices")
    op.drop_index("ix_takedowns_next_check_at", table_name="takedowns")
    op.drop_index("ix_takedowns_status", table_name="takedowns")
    op.drop_index("ix_takedowns_host", table_name="takedowns")
    op.drop_table("takedowns")
    op.drop_index("ix_crawl_url_sources_url_id", table_name="crawl_url_sources")
    op.drop_table("crawl_url_sources")
    op.drop_index("ix_crawl_urls_state", table_name="crawl_urls")
    op.drop_index("ix_crawl_urls_seed_id", table_name="crawl_urls")
    op.drop_index("ix_crawl_urls_host", table_name="crawl_urls")
    op.drop_table("crawl_urls")
