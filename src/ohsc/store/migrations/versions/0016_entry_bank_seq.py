"""bank_entries(bank_id, seq): a published bank's changes after a cursor, in order, by an index

A feed page asks for one bank's entries with ``seq > cursor`` in ``seq`` order. With an index on
``seq`` alone and one on ``bank_id`` first, SQLite took every entry of the bank and sorted them
(1.4 s a page on a 1,000,000-entry bank, whatever the page's size); this index reads the page.

Revision ID: 0016_entry_bank_seq
Revises: 0015_case_video_progress
"""

from __future__ import annotations

from alembic import op

revision = "0016_entry_bank_seq"
down_revision = "0015_case_video_progress"  # re-chained at merge (was 0012_exchanges)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_entry_bank_seq", "bank_entries", ["bank_id", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_entry_bank_seq", table_name="bank_entries")
