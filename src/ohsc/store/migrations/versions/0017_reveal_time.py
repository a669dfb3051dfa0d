"""media_reveals.hidden_at (how long revealed media stayed visible) and reveal_refusals (reveals
refused at the daily exposure limit), for the dashboard's exposure figures

Revision ID: 0017_reveal_time
Revises: 0016_entry_bank_seq
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ohsc.store.types

revision = "0017_reveal_time"
down_revision = "0016_entry_bank_seq"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_reveals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hidden_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "reveal_refusals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reveal_refusals", schema=None) as batch_op:
        batch_op.create_index("ix_refusal_user_time", ["user_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reveal_refusals", schema=None) as batch_op:
        batch_op.drop_index("ix_refusal_user_time")
    op.drop_table("reveal_refusals")
    with op.batch_alter_table("media_reveals", schema=None) as batch_op:
        batch_op.drop_column("hidden_at")
