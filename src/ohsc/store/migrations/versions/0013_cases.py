"""cases: triage of seized collections (items, locations, stacks, votes, reveals)

Revision ID: 0013_cases
Revises: 0011_removal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ohsc.store.types

revision = "0013_cases"
down_revision = "0011_removal"  # re-chained after merging main (was 0007_review_history)
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, ohsc.store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scheme", sa.String(length=8), nullable=False),
        sa.Column("stack_threshold", sa.Integer(), nullable=False),
        sa.Column("agreement", sa.Integer(), nullable=False),
        sa.Column("series_seconds", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "case_sources",
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        _when("added_at", nullable=False),
        _when("finished_at"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "path", name="uq_case_source_path"),
    )
    op.create_table(
        "case_items",
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("media_kind", sa.String(length=16), nullable=False),
        sa.Column("media_format", sa.String(length=16), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.Column("known_bank", sa.String(length=200), nullable=True),
        sa.Column("known_category", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("category_source", sa.String(length=16), nullable=True),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("stack_id", sa.BigInteger(), nullable=True),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("camera", sa.String(length=300), nullable=True),
        _when("taken_at"),
        sa.Column("exif", _JSON, nullable=False),
        sa.Column("locations", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _when("created_at", nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "md5", name="uq_case_item_md5"),
    )
    op.create_index("ix_case_item_grid", "case_items", ["case_id", "known", "id"])
    op.create_index("ix_case_item_stack", "case_items", ["case_id", "stack_id"])
    op.create_index("ix_case_item_category", "case_items", ["case_id", "category"])
    op.create_index("ix_case_item_series", "case_items", ["case_id", "series_id"])
    op.create_table(
        "case_locations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("source_id", _ID, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        _when("modified_at"),
        _when("accessed_at"),
        _when("changed_at"),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["case_items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_id"], ["case_sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "path", name="uq_case_location"),
    )
    op.create_index("ix_case_location_item", "case_locations", ["item_id"])
    op.create_table(
        "case_votes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        _when("at", nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["case_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "actor", name="uq_case_vote"),
    )
    op.create_index("ix_case_vote_case", "case_votes", ["case_id", "actor"])
    op.create_table(
        "case_reveals",
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _when("at", nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["case_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_reveal_user_time", "case_reveals", ["user_id", "at"])


def downgrade() -> None:
    op.drop_table("case_reveals")
    op.drop_table("case_votes")
    op.drop_table("case_locations")
    op.drop_table("case_items")
    op.drop_table("case_sources")
    op.drop_table("cases")
