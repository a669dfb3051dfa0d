"""service: accounts, content records, matches, actions, webhooks, review

Revision ID: 0002
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ohsc.store.types

revision = "0002"
down_revision = "0003"  # re-chained at merge: core -> prevention -> reports -> video -> service
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix"),
    )
    op.create_table(
        "content_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_ref", sa.String(length=200), nullable=True),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("media_kind", sa.String(length=16), nullable=True),
        sa.Column("media_format", sa.String(length=32), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column(
            "signals",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("media_blob_id", sa.String(length=32), nullable=True),
        sa.Column("media_purged_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_ref"),
    )
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.create_index("ix_content_matched", ["matched", "submitted_at"], unique=False)
        batch_op.create_index("ix_content_submitted", ["submitted_at"], unique=False)

    op.create_table(
        "entry_thumbnails",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("blob_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column(
            "event_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "action_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bank_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("review", sa.Boolean(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("report", sa.Boolean(), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "bank_policies",
        sa.Column("bank_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("two_person_review", sa.Boolean(), nullable=False),
        sa.Column("flood_max_matches", sa.Integer(), nullable=True),
        sa.Column("flood_window_seconds", sa.Integer(), nullable=True),
        sa.Column("keep_thumbnails", sa.Boolean(), nullable=False),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bank_id"),
    )
    op.create_table(
        "match_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bank_id", sa.BigInteger(), nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("signal_type", sa.String(length=32), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("flood_controlled", sa.Boolean(), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["content_item_id"], ["content_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("match_records", schema=None) as batch_op:
        batch_op.create_index("ix_match_bank_time", ["bank_id", "created_at"], unique=False)
        batch_op.create_index("ix_match_content", ["content_item_id"], unique=False)
        batch_op.create_index("ix_match_entry_time", ["entry_id", "created_at"], unique=False)

    op.create_table(
        "review_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column(
            "bank_names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "categories",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("best_distance", sa.Integer(), nullable=False),
        sa.Column("two_person", sa.Boolean(), nullable=False),
        sa.Column("report_requested", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("claimed_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["content_item_id"], ["content_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_item_id"),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index("ix_review_claimed_by", ["claimed_by"], unique=False)
        batch_op.create_index("ix_review_queue", ["status", "priority", "id"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_session_user", ["user_id"], unique=False)

    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "media_reveals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("media_reveals", schema=None) as batch_op:
        batch_op.create_index("ix_reveal_item", ["item_id"], unique=False)
        batch_op.create_index("ix_reveal_user_time", ["user_id", "at"], unique=False)

    op.create_table(
        "review_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("viewed_unblurred", sa.Boolean(), nullable=False),
        sa.Column("added_to_bank_id", sa.BigInteger(), nullable=True),
        sa.Column("at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_decision_item", ["item_id"], unique=False)
        batch_op.create_index("ix_decision_user_time", ["user_id", "at"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["webhook_outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_outbox", ["outbox_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_outbox")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_user_time")
        batch_op.drop_index("ix_decision_item")

    op.drop_table("review_decisions")
    with op.batch_alter_table("media_reveals", schema=None) as batch_op:
        batch_op.drop_index("ix_reveal_user_time")
        batch_op.drop_index("ix_reveal_item")

    op.drop_table("media_reveals")
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("webhook_outbox")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_session_user")

    op.drop_table("web_sessions")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_queue")
        batch_op.drop_index("ix_review_claimed_by")

    op.drop_table("review_items")
    with op.batch_alter_table("match_records", schema=None) as batch_op:
        batch_op.drop_index("ix_match_entry_time")
        batch_op.drop_index("ix_match_content")
        batch_op.drop_index("ix_match_bank_time")

    op.drop_table("match_records")
    op.drop_table("bank_policies")
    op.drop_table("action_rules")
    op.drop_table("webhooks")
    op.drop_table("users")
    op.drop_table("entry_thumbnails")
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.drop_index("ix_content_submitted")
        batch_op.drop_index("ix_content_matched")

    op.drop_table("content_items")
    op.drop_table("api_keys")
