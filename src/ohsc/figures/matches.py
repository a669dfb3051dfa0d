"""The match log as the console shows it: :func:`ohsc.content.matchlog.list_matches` with, on each
row, the review item its content went to (if any). ``ohsc matches`` and ``/matches`` both call
:func:`match_log`."""

from __future__ import annotations

from sqlalchemy import select

from ohsc.content.matchlog import MatchQuery, MatchRecord, list_matches
from ohsc.review.models import ReviewItemRow
from ohsc.store.db import Store


def match_log(
    store: Store, query: MatchQuery, *, before: int | None = None, limit: int = 100
) -> list[MatchRecord]:
    """Matches newest first (ids below ``before``, at most ``limit``), each with ``review_item_id``
    and ``review_status`` (None when the content was not queued for review)."""
    rows = list_matches(store, query, before=before, limit=limit)
    ids = {r.content_id for r in rows}
    items: dict[int, tuple[int, str]] = {}
    if ids:
        with store.session() as s:
            found = s.execute(
                select(ReviewItemRow.content_item_id, ReviewItemRow.id, ReviewItemRow.status).where(
                    ReviewItemRow.content_item_id.in_(ids)
                )
            )
            items = {content: (item, status) for content, item, status in found}
    return [
        r.model_copy(
            update={"review_item_id": item[0], "review_status": item[1]}
            if (item := items.get(r.content_id))
            else {}
        )
        for r in rows
    ]
