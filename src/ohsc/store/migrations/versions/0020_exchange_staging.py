"""exchanges: ``exchange_staged``, a fresh bank's first sync written in arrival order, moved into
the bank in index order at the end of the sync

A million random hashes written page by page into a bank's indexes cost SQLite about twice what
the same rows cost sorted by hash (see docs/benchmarks.md, "Exchange, round 3").

Revision ID: 0020_exchange_staging
Revises: 0019_case_stack_sizes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020_exchange_staging"
down_revision = "0019_case_stack_sizes"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "exchange_staged",
        sa.Column("id", _ID, nullable=False),
        sa.Column("exchange_id", _ID, nullable=False),
        sa.Column("record", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("signal_type", sa.String(length=32), nullable=True),
        sa.Column("value", sa.String(length=512), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("labels", _JSON, nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("replay", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["exchange_id"], ["exchanges.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_exchange_staged_record", "exchange_staged", ["exchange_id", "record"])


def downgrade() -> None:
    op.drop_index("ix_exchange_staged_record", table_name="exchange_staged")
    op.drop_table("exchange_staged")
