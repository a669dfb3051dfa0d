"""Stack sizes kept as items join stacks (``case_stacks``): the grid filters and labels stacks
by size without counting a case's items on every page."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ohsc.cases.models import CaseStackRow

STACKS: Table = CaseStackRow.__table__  # type: ignore[assignment]


def _upsert(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    stmt = postgresql.insert(STACKS) if dialect == "postgresql" else sqlite.insert(STACKS)
    return stmt.on_conflict_do_update(
        index_elements=[STACKS.c.case_id, STACKS.c.stack_id],
        set_={"size": STACKS.c.size + stmt.excluded.size},
    )


def add_to_stacks(s: Session, case_id: int, stack_ids: Iterable[int]) -> None:
    """Count new members into their stacks (one per stack id given)."""
    counts = Counter(stack_ids)
    if not counts:
        return
    rows = [{"case_id": case_id, "stack_id": k, "size": n} for k, n in sorted(counts.items())]
    s.connection().execute(_upsert(s.get_bind().dialect.name), rows)


def sizes_of(s: Session, case_id: int, stack_ids: Iterable[int]) -> dict[int, int]:
    wanted = set(stack_ids)
    if not wanted:
        return {}
    rows = s.execute(
        select(STACKS.c.stack_id, STACKS.c.size).where(
            STACKS.c.case_id == case_id, STACKS.c.stack_id.in_(wanted)
        )
    )
    return {int(k): int(n) for k, n in rows}


def stacks_at_least(case_id: int, size: int) -> Any:
    """A subquery: the ids of the case's stacks holding at least ``size`` items."""
    return select(STACKS.c.stack_id).where(STACKS.c.case_id == case_id, STACKS.c.size >= size)
