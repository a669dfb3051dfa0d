"""crawl frontier: an index in the order crawlers take URLs (state, depth, id)

Taking the next URLs sorted every queued URL first (a temporary B-tree per take): on a large
site, each take read the whole queue. With this index the database walks queued URLs in order.

Revision ID: 0018_crawl_take_order
Revises: 0017_reveal_time
"""

from __future__ import annotations

from alembic import op

revision = "0018_crawl_take_order"
down_revision = "0017_reveal_time"  # re-chained at merge (was 0014_import_progress)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_crawl_urls_take", "crawl_urls", ["state", "depth", "id"])


def downgrade() -> None:
    op.drop_index("ix_crawl_urls_take", table_name="crawl_urls")
