"""report ids never reused: a counter gives them out (a discarded draft's id stays spent)

SQLite gave the id of a discarded newest draft to the next one, so an audit event, an e-mail or a
note naming "report 12" could mean two different reports. New ids now come from the
``report_id`` counter; it starts above every id in ``reports`` and every report id the audit
log has seen created (so ids discarded before this migration are not given out again either).

Revision ID: 0009_report_ids_never_reused
Revises: 0007_review_history
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_report_ids_never_reused"
down_revision = "0008_entry_sources"  # re-chained at merge (exchange branch: after provenance)
branch_labels = None
depends_on = None

COUNTER = "report_id"

_counters = sa.table("ohsc_counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
_reports = sa.table("reports", sa.column("id", sa.BigInteger))
_events = sa.table(
    "audit_events",
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_id"),
)


def _highest_id(conn: sa.Connection) -> int:
    highest = int(conn.execute(sa.select(sa.func.max(_reports.c.id))).scalar() or 0)
    created = conn.execute(
        sa.select(_events.c.object_id)
        .where(_events.c.action == "report.create", _events.c.object_type == "report")
        .distinct()
    ).scalars()
    for object_id in created:
        text = str(object_id or "")
        if text.isascii() and text.isdigit() and len(text) < 19:
            highest = max(highest, int(text))
    return highest


def upgrade() -> None:
    conn = op.get_bind()
    if conn.execute(sa.select(_counters.c.value).where(_counters.c.name == COUNTER)).first() is not None:
        return
    conn.execute(sa.insert(_counters).values(name=COUNTER, value=_highest_id(conn)))


def downgrade() -> None:
    op.get_bind().execute(sa.delete(_counters).where(_counters.c.name == COUNTER))
