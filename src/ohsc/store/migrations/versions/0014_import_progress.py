"""import runs: bytes read of bytes in the file, for a progress figure while a run goes

Revision ID: 0014_import_progress
Revises: 0012_exchanges
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_import_progress"
down_revision = "0012_exchanges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_runs") as batch:
        batch.add_column(sa.Column("bytes_total", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("bytes_read", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_runs") as batch:
        batch.drop_column("bytes_read")
        batch.drop_column("bytes_total")
