"""reports to authorities and evidence preservation

Revision ID: 0004
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ohsc.store.types

revision = "0004"
down_revision = "0005"  # re-chained at merge: core -> prevention -> reports
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("subject_type", sa.String(length=50), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("blob_id", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "jurisdictions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("preserved_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("preserved_by", sa.String(length=200), nullable=False),
        sa.Column("retain_until", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("purged_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("purged_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_key"),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_retain_until", ["retain_until"], unique=False)
        batch_op.create_index("ix_evidence_subject", ["subject_type", "subject_id"], unique=False)

    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "destinations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("matched_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("filed_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retracted_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retraction_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_report_status", ["status"], unique=False)

    op.create_table(
        "evidence_holds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("placed_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["evidence_items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evidence_holds", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_hold_item", ["item_id"], unique=False)

    op.create_table(
        "report_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_namespace", sa.String(length=32), nullable=False),
        sa.Column("content_blob_id", sa.String(length=64), nullable=True),
        sa.Column("content_owned", sa.Boolean(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("viewed_by_human", sa.Boolean(), nullable=True),
        sa.Column("exif_viewed_by_human", sa.Boolean(), nullable=True),
        sa.Column("review_ref", sa.String(length=200), nullable=True),
        sa.Column(
            "matches",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("matched_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("added_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "sha256", name="uq_report_file_sha256"),
    )
    op.create_table(
        "report_submissions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("remote_id", sa.String(length=200), nullable=True),
        sa.Column(
            "abandoned",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_code", sa.Integer(), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "receipt",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retracted_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "destination", name="uq_submission_destination"),
    )
    op.create_table(
        "report_submission_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("submission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("report_file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("remote_file_id", sa.String(length=200), nullable=True),
        sa.Column("remote_hash", sa.String(length=128), nullable=True),
        sa.Column("updated_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_file_id"], ["report_files.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["submission_id"], ["report_submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "report_file_id", name="uq_submission_file"),
    )


def downgrade() -> None:
    op.drop_table("report_submission_files")
    op.drop_table("report_submissions")
    op.drop_table("report_files")
    with op.batch_alter_table("evidence_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_hold_item")

    op.drop_table("evidence_holds")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_report_status")

    op.drop_table("reports")
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_subject")
        batch_op.drop_index("ix_evidence_retain_until")

    op.drop_table("evidence_items")
