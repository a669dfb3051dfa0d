"""entry sources: one row per source record listing a bank entry; import runs get a status

Every existing entry gets one record (its source, its external id or "", its category and
labels, withdrawn when the entry is retracted). Import runs without ``finished_at`` were cut off:
they are marked ``failed``.

Revision ID: 0008_entry_sources
Revises: 0007_review_history
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ohsc.store.types

revision = "0008_entry_sources"
down_revision = "0007_review_history"  # re-chained at merge
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = ohsc.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "entry_sources",
        sa.Column("id", _ID, nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("entry_id", _ID, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("source_ref", sa.String(length=500), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("labels", _JSON, nullable=False),
        sa.Column("first_seen", _TIME, nullable=False),
        sa.Column("last_seen", _TIME, nullable=False),
        sa.Column("withdrawn_at", _TIME, nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entry_id"], ["bank_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "source", "external_id", name="uq_entry_source_record"),
    )
    op.create_index("ix_entry_source_bank_external", "entry_sources", ["bank_id", "source", "external_id"])
    op.execute(
        "INSERT INTO entry_sources (bank_id, entry_id, source, external_id, source_ref, category, labels,"
        " first_seen, last_seen, withdrawn_at, withdrawal_reason)"
        " SELECT bank_id, id, source, COALESCE(external_id, ''), source_ref, category, labels,"
        " created_at, updated_at, retracted_at, retraction_reason FROM bank_entries"
    )
    with op.batch_alter_table("import_runs") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="finished"))
    op.execute("UPDATE import_runs SET status = 'failed' WHERE finished_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("import_runs") as batch:
        batch.drop_column("status")
    op.drop_index("ix_entry_source_bank_external", table_name="entry_sources")
    op.drop_table("entry_sources")
