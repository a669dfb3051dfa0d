"""review history: what an undo restores and withdraws, and when a decision was undone

Revision ID: 0007_review_history
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ohsc.store.types

revision = "0007_review_history"
down_revision = "0006_audit_chain_keys"  # re-chained at merge
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch:
        batch.add_column(sa.Column("prior_state", _JSON, nullable=True))
        batch.add_column(sa.Column("added_entry_ids", _JSON, nullable=True))
        batch.add_column(sa.Column("undone_at", ohsc.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_column("undone_at")
        batch.drop_column("added_entry_ids")
        batch.drop_column("prior_state")
