"""video: vPDQ frames

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-21 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ohsc.store.types

revision = "0003"
down_revision = "0004"  # re-chained at merge: core -> prevention -> reports -> video
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vpdq_frames",
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ref"),
    )


def downgrade() -> None:
    op.drop_table("vpdq_frames")
