"""robust matching: banks.robust, and the descriptors of pictures in robust banks

Revision ID: 0010_robust
Revises: 0011_removal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ohsc.store.types

revision = "0010_robust"
down_revision = "0013_cases"  # re-chained at merge (assigned: after 0007_review_history)
branch_labels = None
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("banks") as batch:
        batch.add_column(sa.Column("robust", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "robust_descriptors",
        sa.Column("entry_id", _BIGID, nullable=False),
        sa.Column("bank_id", _BIGID, nullable=False),
        sa.Column("views", sa.LargeBinary(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["bank_entries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index("ix_robust_bank", "robust_descriptors", ["bank_id"])


def downgrade() -> None:
    op.drop_index("ix_robust_bank", table_name="robust_descriptors")
    op.drop_table("robust_descriptors")
    with op.batch_alter_table("banks") as batch:
        batch.drop_column("robust")
