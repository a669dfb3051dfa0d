"""What a case shows its analysts: the grid, one item with its locations and votes, the tiles
after a change, the sources (the reading half of :class:`ohsc.cases.service.CaseService`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ohsc.cases.categories import scheme as get_scheme
from ohsc.cases.models import CaseItemRow, CaseLocationRow, CaseRow, CaseSourceRow, CaseVoteRow
from ohsc.errors import CaseNotFoundError, InvalidInputError
from ohsc.settings import Settings
from ohsc.store.db import Store


class CaseReading:
    """Reading a case's items; :class:`~ohsc.cases.service.CaseService` adds the actions."""

    def __init__(self, store: Store, settings: Settings, actor: str) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor

    def _row(self, s: Any, ref: str | int) -> CaseRow:
        row: CaseRow | None
        if isinstance(ref, int):
            row = s.get(CaseRow, ref)
        else:
            row = s.scalar(select(CaseRow).where(CaseRow.name == ref))
            if row is None and ref.isascii() and ref.isdigit():
                row = s.get(CaseRow, int(ref))
        if row is None:
            raise CaseNotFoundError(f"no case {ref!r}")
        return row

    # --- reading -------------------------------------------------------------------------------

    def grid(
        self, ref: str | int, flt: Any = None, *, cursor: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """A page of the analyst grid: items (unknown first by default), the next page's cursor,
        and the size of each item's stack."""
        from ohsc.cases.grid import GridFilter, page, stack_sizes

        after = _decode_cursor(cursor)
        limit = max(1, min(limit, 500))
        with self.store.session() as s:
            case = self._row(s, ref)
            items, nxt = page(s, case.id, flt or GridFilter(), after, limit)
            sizes = stack_sizes(s, case.id, [i.stack_id for i in items if i.stack_id is not None])
        return {
            "items": items,
            "next": ".".join(str(int(k)) for k in nxt) if nxt else None,
            "stack_sizes": sizes,
        }

    def item(self, ref: str | int, item_id: int) -> dict[str, Any]:
        """One item with its locations, EXIF fields, votes and the other items of its stack."""
        from ohsc.cases.votes import votes_of
        from ohsc.errors import CaseItemNotFoundError

        with self.store.session() as s:
            case = self._row(s, ref)
            row = s.get(CaseItemRow, item_id)
            if row is None or row.case_id != case.id:
                raise CaseItemNotFoundError(f"no item {item_id} in case {case.name!r}")
            stack = (
                list(
                    s.scalars(
                        select(CaseItemRow.id)
                        .where(CaseItemRow.case_id == case.id, CaseItemRow.stack_id == row.stack_id)
                        .order_by(CaseItemRow.id)
                        .limit(200)
                    )
                )
                if row.stack_id is not None
                else [row.id]
            )
            labels = get_scheme(case.scheme)
            detail = {
                "id": row.id,
                "case": case.name,
                "md5": row.md5,
                "sha1": row.sha1,
                "sha256": row.sha256,
                "pdq": row.pdq,
                "pdq_quality": row.pdq_quality,
                "vpdq": row.vpdq,
                "media_kind": row.media_kind,
                "media_format": row.media_format,
                "size": row.size,
                "known": row.known,
                "known_bank": row.known_bank,
                "known_category": row.known_category,
                "category": row.category,
                "category_name": labels.label(row.category),
                "category_source": row.category_source,
                "disputed": row.disputed,
                "stack_id": row.stack_id,
                "stack": stack,
                "series_id": row.series_id,
                "camera": row.camera,
                "taken_at": row.taken_at.isoformat() if row.taken_at else None,
                "exif": dict(row.exif or {}),
                "votes": [
                    {"analyst": a, "category": c, "name": labels.label(c)} for a, c in votes_of(s, row.id)
                ],
                "error": row.error,
            }
        detail["locations"] = self.locations(item_id)
        return detail

    def my_votes(self, case_id: int, item_ids: list[int]) -> dict[int, str]:
        """This analyst's current category of each of ``item_ids`` that has one."""
        if not item_ids:
            return {}
        with self.store.session() as s:
            rows = s.execute(
                select(CaseVoteRow.item_id, CaseVoteRow.category).where(
                    CaseVoteRow.case_id == case_id,
                    CaseVoteRow.actor == self.actor,
                    CaseVoteRow.item_id.in_(item_ids),
                )
            )
            return {int(i): str(c) for i, c in rows}

    def tiles(self, ref: str | int, item_ids: list[int]) -> list[dict[str, Any]]:
        """What the grid shows of items after a change: category (name), disputed, own vote."""
        with self.store.session() as s:
            case = self._row(s, ref)
            labels = get_scheme(case.scheme)
            rows = list(
                s.scalars(
                    select(CaseItemRow).where(CaseItemRow.case_id == case.id, CaseItemRow.id.in_(item_ids))
                )
            )
            mine = self.my_votes(case.id, item_ids)
            return [
                {
                    "id": r.id,
                    "category": r.category,
                    "category_name": labels.label(r.category),
                    "category_source": r.category_source,
                    "disputed": r.disputed,
                    "mine": mine.get(r.id),
                    "mine_name": labels.label(mine[r.id]) if r.id in mine else None,
                }
                for r in rows
            ]

    def sources(self, case_id: int) -> list[dict[str, Any]]:
        """The case's sources with their ingest's status and progress."""
        from ohsc.cases.jobs import source_dict

        with self.store.session() as s:
            rows = s.scalars(
                select(CaseSourceRow).where(CaseSourceRow.case_id == case_id).order_by(CaseSourceRow.id)
            )
            return [source_dict(r) for r in rows]

    def locations(self, item_id: int) -> list[dict[str, Any]]:
        with self.store.session() as s:
            rows = s.execute(
                select(CaseLocationRow, CaseSourceRow.path)
                .join(CaseSourceRow, CaseSourceRow.id == CaseLocationRow.source_id)
                .where(CaseLocationRow.item_id == item_id)
                .order_by(CaseLocationRow.id)
            ).all()
            return [
                {
                    "source": src,
                    "path": loc.path,
                    "modified_at": loc.modified_at.isoformat() if loc.modified_at else None,
                    "accessed_at": loc.accessed_at.isoformat() if loc.accessed_at else None,
                    "changed_at": loc.changed_at.isoformat() if loc.changed_at else None,
                    "deleted": loc.deleted,
                }
                for loc, src in rows
            ]


def _decode_cursor(cursor: str | None) -> list[int] | None:
    if not cursor:
        return None
    parts = cursor.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts):
        raise InvalidInputError("bad page cursor")
    return [int(p) for p in parts]
