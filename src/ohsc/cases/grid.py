"""The analyst grid's query: filters, sorting and keyset pages (fast on cases of 100,000 items:
each page is one indexed range scan, never an OFFSET)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from ohsc.cases.models import CaseItemRow, CaseLocationRow
from ohsc.cases.stack_sizes import sizes_of, stacks_at_least
from ohsc.errors import InvalidInputError
from ohsc.store.types import ascii_int, parse_when

SORTS = ("unknown-first", "newest", "largest", "stack")


@dataclass(frozen=True, slots=True)
class GridFilter:
    #: known | unknown | None (both)
    known: str | None = None
    #: a VICS code, "none" (uncategorised), or None (any)
    category: str | None = None
    media_kind: str | None = None
    source_id: int | None = None
    min_size: int | None = None
    max_size: int | None = None
    taken_from: datetime | None = None
    taken_to: datetime | None = None
    min_stack: int | None = None
    series_id: int | None = None
    in_series: bool = False
    disputed: bool = False
    stack_id: int | None = None
    sort: str = "unknown-first"


@dataclass(frozen=True, slots=True)
class GridItem:
    id: int
    md5: str
    media_kind: str
    size: int | None
    known: bool
    known_bank: str | None
    category: str | None
    category_source: str | None
    disputed: bool
    stack_id: int | None
    series_id: int | None
    locations: int
    taken_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "md5": self.md5,
            "media_kind": self.media_kind,
            "size": self.size,
            "known": self.known,
            "known_bank": self.known_bank,
            "category": self.category,
            "category_source": self.category_source,
            "disputed": self.disputed,
            "stack_id": self.stack_id,
            "series_id": self.series_id,
            "locations": self.locations,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
        }


def _filtered(case_id: int, f: GridFilter) -> Select[Any]:
    q = select(CaseItemRow).where(CaseItemRow.case_id == case_id)
    if f.known == "known":
        q = q.where(CaseItemRow.known.is_(True))
    elif f.known == "unknown":
        q = q.where(CaseItemRow.known.is_(False))
    if f.category == "none":
        q = q.where(CaseItemRow.category.is_(None))
    elif f.category:
        q = q.where(CaseItemRow.category == f.category)
    if f.media_kind:
        q = q.where(CaseItemRow.media_kind == f.media_kind)
    if f.source_id is not None:
        q = q.where(
            select(CaseLocationRow.id)
            .where(CaseLocationRow.item_id == CaseItemRow.id, CaseLocationRow.source_id == f.source_id)
            .exists()
        )
    if f.min_size is not None:
        q = q.where(CaseItemRow.size >= f.min_size)
    if f.max_size is not None:
        q = q.where(CaseItemRow.size <= f.max_size)
    if f.taken_from is not None:
        q = q.where(CaseItemRow.taken_at >= f.taken_from)
    if f.taken_to is not None:
        q = q.where(CaseItemRow.taken_at <= f.taken_to)
    if f.series_id is not None:
        q = q.where(CaseItemRow.series_id == f.series_id)
    elif f.in_series:
        q = q.where(CaseItemRow.series_id.is_not(None))
    if f.stack_id is not None:
        q = q.where(CaseItemRow.stack_id == f.stack_id)
    if f.disputed:
        q = q.where(CaseItemRow.disputed.is_(True))
    if f.min_stack is not None and f.min_stack > 1:
        q = q.where(CaseItemRow.stack_id.in_(stacks_at_least(case_id, f.min_stack)))
    return q


def _key(row: CaseItemRow, sort: str) -> list[Any]:
    if sort == "unknown-first":
        return [int(row.known), row.id]
    if sort == "largest":
        return [row.size or 0, row.id]
    if sort == "stack":
        return [row.stack_id or row.id, row.id]
    return [row.id]


def page(
    s: Session, case_id: int, f: GridFilter, after: list[Any] | None, limit: int
) -> tuple[list[GridItem], list[Any] | None]:
    """One page of items and the cursor of the next (None at the end)."""
    if f.sort not in SORTS:
        raise InvalidInputError(f"sort is one of {', '.join(SORTS)}")
    q = _filtered(case_id, f)
    c = CaseItemRow
    if f.sort == "unknown-first":
        if after:
            known, last = bool(after[0]), int(after[1])
            if known:
                q = q.where(c.known.is_(True), c.id > last)
            else:
                q = q.where(or_(and_(c.known.is_(False), c.id > last), c.known.is_(True)))
        q = q.order_by(c.known, c.id)
    elif f.sort == "largest":
        size = func.coalesce(c.size, 0)
        if after:
            q = q.where(or_(size < int(after[0]), and_(size == int(after[0]), c.id > int(after[1]))))
        q = q.order_by(size.desc(), c.id)
    elif f.sort == "stack":
        stack = func.coalesce(c.stack_id, c.id)
        if after:
            q = q.where(or_(stack > int(after[0]), and_(stack == int(after[0]), c.id > int(after[1]))))
        q = q.order_by(stack, c.id)
    else:  # newest
        if after:
            q = q.where(c.id < int(after[0]))
        q = q.order_by(c.id.desc())
    rows = list(s.scalars(q.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        GridItem(
            id=r.id,
            md5=r.md5,
            media_kind=r.media_kind,
            size=r.size,
            known=r.known,
            known_bank=r.known_bank,
            category=r.category,
            category_source=r.category_source,
            disputed=r.disputed,
            stack_id=r.stack_id,
            series_id=r.series_id,
            locations=r.locations,
            taken_at=r.taken_at,
        )
        for r in rows
    ]
    return items, (_key(rows[-1], f.sort) if more and rows else None)


def stack_sizes(s: Session, case_id: int, stack_ids: list[int]) -> dict[int, int]:
    return sizes_of(s, case_id, stack_ids)


def _int(params: dict[str, str], key: str) -> int | None:
    text = params.get(key) or ""
    return ascii_int(text) if text else None


def grid_filter(params: dict[str, str]) -> GridFilter:
    """The grid's filters from query parameters (unknown values are ignored)."""
    known = params.get("known") or None
    sort = params.get("sort") or "unknown-first"
    taken_from = parse_when(params.get("from") or None, "from")
    taken_to = parse_when(params.get("to") or None, "to")
    return GridFilter(
        known=known if known in ("known", "unknown") else None,
        category=(params.get("category") or None),
        media_kind=(params.get("kind") or None),
        source_id=_int(params, "source"),
        min_size=_int(params, "min_size"),
        max_size=_int(params, "max_size"),
        taken_from=taken_from,
        taken_to=taken_to,
        min_stack=_int(params, "min_stack"),
        series_id=_int(params, "series"),
        in_series=params.get("series") == "any",
        disputed=params.get("disputed") == "1",
        stack_id=_int(params, "stack"),
        sort=sort if sort in SORTS else "unknown-first",
    )
