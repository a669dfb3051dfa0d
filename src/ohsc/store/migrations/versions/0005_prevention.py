"""prevention: help directory, aggregate counters, Trace an Object

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ohsc.store.types

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "help_services",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seed_key", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "countries",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "audiences",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=60), nullable=False),
        sa.Column("phone_note", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("chat_url", sa.String(length=500), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.String(length=300), nullable=False),
        sa.Column(
            "sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seed_key"),
    )
    op.create_table(
        "prevention_counters",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("list_name", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("resource_id", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", "list_name", "locale", "resource_id"),
    )
    op.create_table(
        "trace_objects",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("image_blob", sa.String(length=32), nullable=False),
        sa.Column("thumb_blob", sa.String(length=32), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("image_format", sa.String(length=10), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("status_note", sa.Text(), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("identified_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    with op.batch_alter_table("trace_objects", schema=None) as batch_op:
        batch_op.create_index("ix_trace_object_status", ["status"], unique=False)

    op.create_table(
        "trace_rate_buckets",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", "window"),
    )
    op.create_table(
        "trace_rate_salts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "trace_used_tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "trace_tips",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("object_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("received_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("triaged_by", sa.String(length=200), nullable=True),
        sa.Column("triaged_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["object_id"], ["trace_objects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trace_tips", schema=None) as batch_op:
        batch_op.create_index("ix_trace_tip_object", ["object_id"], unique=False)
        batch_op.create_index("ix_trace_tip_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trace_tips", schema=None) as batch_op:
        batch_op.drop_index("ix_trace_tip_status")
        batch_op.drop_index("ix_trace_tip_object")

    op.drop_table("trace_tips")
    op.drop_table("trace_used_tokens")
    op.drop_table("trace_rate_salts")
    op.drop_table("trace_rate_buckets")
    with op.batch_alter_table("trace_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_trace_object_status")

    op.drop_table("trace_objects")
    op.drop_table("prevention_counters")
    op.drop_table("help_services")
