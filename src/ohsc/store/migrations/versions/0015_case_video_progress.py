"""cases: vPDQ of video items, and an ingest's progress (files done of files found, what failed)

Revision ID: 0015_case_video_progress
Revises: 0014_import_progress
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_case_video_progress"
down_revision = "0014_import_progress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_items") as batch:
        batch.add_column(sa.Column("vpdq", sa.Text(), nullable=True))
    with op.batch_alter_table("case_sources") as batch:
        batch.add_column(sa.Column("total", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("done", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("failure", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_sources") as batch:
        batch.drop_column("failure")
        batch.drop_column("done")
        batch.drop_column("total")
    with op.batch_alter_table("case_items") as batch:
        batch.drop_column("vpdq")
