"""Analysts' categories and the case's agreement rule.

Each analyst has one current category per item (choosing again replaces it). An item's category
is final once ``agreement`` analysts chose the same one and more chose it than any other; items
where analysts differ and none is final are *disputed*: the disagreements queue. Until then an
item keeps its known (bank) category, if any.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc.cases.models import CaseItemRow, CaseVoteRow
from ohsc.store.types import utcnow


def settle(item: CaseItemRow, codes: list[str], agreement: int) -> None:
    """Set the item's category and disputed flag from its analysts' current codes."""
    counts = Counter(codes).most_common()
    top = counts[0] if counts else None
    runner_up = counts[1][1] if len(counts) > 1 else 0
    if top is not None and top[1] >= agreement and top[1] > runner_up:
        item.category, item.category_source, item.disputed = top[0], "agreed", False
        return
    if item.category_source == "agreed":  # an agreement taken back
        item.category = item.known_category
        item.category_source = "known" if item.known_category is not None else None
    item.disputed = len(counts) > 1


def vote(s: Session, item: CaseItemRow, actor: str, code: str, agreement: int) -> None:
    row = s.scalar(select(CaseVoteRow).where(CaseVoteRow.item_id == item.id, CaseVoteRow.actor == actor))
    if row is None:
        s.add(CaseVoteRow(case_id=item.case_id, item_id=item.id, actor=actor, category=code, at=utcnow()))
    else:
        row.category, row.at = code, utcnow()
    s.flush()
    codes = list(s.scalars(select(CaseVoteRow.category).where(CaseVoteRow.item_id == item.id)))
    settle(item, codes, agreement)


def votes_of(s: Session, item_id: int) -> list[tuple[str, str]]:
    """(analyst, code) of an item, oldest first."""
    rows = s.execute(
        select(CaseVoteRow.actor, CaseVoteRow.category)
        .where(CaseVoteRow.item_id == item_id)
        .order_by(CaseVoteRow.at)
    )
    return [(str(a), str(c)) for a, c in rows]
