"""Reviewer decisions on matches that came from an exchange, as feedback to the list's owner.

A ``confirm`` on a review item whose content matched an entry an exchange brought is a
``confirmed`` verdict on that source entry; ``not_abuse`` is ``disputed``. Decisions are taken in
id order once the reviewer's undo window has passed (an undone decision is never sent); the
exchange's ``feedback_cursor`` remembers the last decision considered, and advances only after
the exchange accepted the verdicts.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc.content.models import MatchRecordRow
from ohsc.exchanges.apply import source_name
from ohsc.exchanges.model import Feedback, Verdict
from ohsc.exchanges.tables import ExchangeRow
from ohsc.review.models import ReviewDecisionRow, ReviewItemRow
from ohsc.settings import Settings
from ohsc.store.models import EntryRow, EntrySourceRow
from ohsc.store.types import utcnow

VERDICTS = {"confirm": Verdict.CONFIRMED, "not_abuse": Verdict.DISPUTED}
BATCH = 500


def pending_feedback(s: Session, row: ExchangeRow, settings: Settings) -> tuple[list[Feedback], int]:
    """Verdicts not sent yet for exchange ``row``, and the cursor to store once they are sent."""
    settled = utcnow() - timedelta(seconds=settings.review_undo_seconds)
    decisions = list(
        s.execute(
            select(ReviewDecisionRow.id, ReviewDecisionRow.decision, ReviewItemRow.content_item_id)
            .join(ReviewItemRow, ReviewItemRow.id == ReviewDecisionRow.item_id)
            .where(ReviewDecisionRow.id > row.feedback_cursor, ReviewDecisionRow.at <= settled)
            .order_by(ReviewDecisionRow.id)
            .limit(BATCH)
        )
    )
    cursor = row.feedback_cursor
    wanted: dict[int, Verdict] = {}
    for decision_id, decision, content_id in decisions:
        cursor = decision_id
        if decision in VERDICTS:
            wanted[content_id] = VERDICTS[decision]
        elif decision == "undo":
            wanted.pop(content_id, None)
    if not wanted:
        return [], cursor
    feedback: dict[tuple[str, str, str], Feedback] = {}
    for content_id, signal_type, external_id, value, labels in s.execute(
        select(
            MatchRecordRow.content_item_id,
            EntryRow.signal_type,
            EntrySourceRow.external_id,
            EntryRow.value,
            EntrySourceRow.labels,
        )
        .join(EntryRow, EntryRow.id == MatchRecordRow.entry_id)
        .join(EntrySourceRow, EntrySourceRow.entry_id == EntryRow.id)
        .where(
            MatchRecordRow.content_item_id.in_(list(wanted)),
            MatchRecordRow.bank_id == row.bank_id,
            EntrySourceRow.source == source_name(row.name),
            EntrySourceRow.external_id != "",
        )
    ):
        key = (str(external_id), signal_type, value)
        verdict = wanted[content_id]
        feedback[key] = Feedback(str(external_id), signal_type, value, verdict, tuple(labels or ()))
    return list(feedback.values()), cursor
