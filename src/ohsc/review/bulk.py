"""Review at volume: a grid of items a reviewer holds, revealed step by step and decided together.

The grid shows only items the reviewer has claimed (:meth:`ReviewBulk.claim_many` puts them on
their screen), so a bulk decision can only touch items that reviewer was shown. Every bulk step
applies the single-item rules to each item in its own transaction: :meth:`decide_many` runs the
same checks and effects as :meth:`~ohsc.review.deciding.ReviewDeciding.decide` (one audit event
per decision), :meth:`reveal_many` records one reveal per item, each counted against the
exposure limits, so a limit reached midway refuses the rest. Each returns one
:class:`~ohsc.review.model.ItemOutcome` per requested item, in order: nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from ohsc import audit
from ohsc.banks.service import BankService
from ohsc.content.models import ContentRow, MatchRecordRow
from ohsc.errors import InvalidInputError, NotShownError, OhscError
from ohsc.review.claims import ReviewClaims
from ohsc.review.deciding import NOTE_CHARS, ReviewDeciding
from ohsc.review.model import Choice, ItemOutcome, Reviewer, ReviewItem, Status
from ohsc.review.models import ReviewItemRow
from ohsc.review.queue import QueueFilter, try_claim
from ohsc.review.reading import ReviewReading
from ohsc.review.viewing import ReviewViewing
from ohsc.store.models import EntryRow
from ohsc.store.types import utcnow

#: the most items one grid holds and one bulk call takes
BULK_MAX = 48


def _ids(item_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise InvalidInputError("select at least one item")
    if len(ids) > BULK_MAX:
        raise InvalidInputError(f"at most {BULK_MAX} items at a time")
    return ids


class ReviewBulk(ReviewReading, ReviewClaims, ReviewViewing, ReviewDeciding):
    def grid(self, reviewer: Reviewer, sort: str = "queue") -> list[ReviewItem]:
        """The items on this reviewer's grid: those they hold a live claim on."""
        if reviewer.user_id is None:
            return []
        flt = QueueFilter(status="pending", claimed_by=reviewer.user_id)
        items = self.list_items(flt, after=0, limit=BULK_MAX, sort=sort)
        return [i for i in items if i.claim_expires_at is not None and i.status is not Status.DECIDED]

    def provenance(self, item_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """For the grid's metadata panel: each item's content source (upload, signals, url) and,
        per matched bank entry, where the entry came from and when it was added."""
        if not item_ids:
            return {}
        with self.store.session() as s:
            found = s.execute(
                select(ReviewItemRow.id, ReviewItemRow.content_item_id, ContentRow.source)
                .join(ContentRow, ContentRow.id == ReviewItemRow.content_item_id)
                .where(ReviewItemRow.id.in_(list(item_ids)))
            ).all()
            out: dict[int, dict[str, Any]] = {}
            for item_id, content_id, source in found:
                entries = s.execute(
                    select(EntryRow.id, EntryRow.source, EntryRow.source_ref, EntryRow.created_at)
                    .join(MatchRecordRow, MatchRecordRow.entry_id == EntryRow.id)
                    .where(MatchRecordRow.content_item_id == content_id)
                ).all()
                out[item_id] = {
                    "content_source": source,
                    "entries": {
                        e.id: {"source": e.source, "source_ref": e.source_ref, "added_at": e.created_at}
                        for e in entries
                    },
                }
        return out

    def claim_many(
        self, reviewer: Reviewer, flt: QueueFilter | None = None, *, sort: str = "queue", limit: int = 12
    ) -> list[ReviewItem]:
        """Put up to ``limit`` more items matching ``flt`` (in ``sort`` order) on the reviewer's
        grid by claiming them; returns the whole grid."""
        if reviewer.user_id is None:
            raise InvalidInputError("only logged-in reviewers claim items")
        base = flt or QueueFilter()
        flt = QueueFilter(
            status="pending", bank=base.bank, category=base.category, reason=base.reason, text=base.text
        )
        room = max(0, min(limit, BULK_MAX - len(self.grid(reviewer))))
        taken: list[int] = []
        if room:
            offered = self.list_items(flt, after=0, limit=room * 3 + 10, reviewer=reviewer, sort=sort)
            with self.store.session() as s:
                for item in offered:
                    if len(taken) >= room:
                        break
                    if self.can_claim(item, reviewer) and try_claim(s, item.id, reviewer, self.claim_minutes):
                        taken.append(item.id)
                audit.record(
                    s,
                    actor=reviewer.actor,
                    action="review.claim_many",
                    object_type="review_item",
                    details={"items": taken, "sort": sort},
                )
        return self.grid(reviewer, sort)

    def reveal_many(
        self, item_ids: Sequence[int], reviewer: Reviewer, *, target: str = "grey"
    ) -> list[ItemOutcome]:
        """Reveal each item (``grey``: sharp greyscale, ``media``: full colour); every reveal is
        recorded and counted like a single one. Items not on the reviewer's grid are refused."""
        if target not in ("grey", "media"):
            raise InvalidInputError("a grid reveals grey or media")
        shown = {i.id for i in self.grid(reviewer)}
        out: list[ItemOutcome] = []
        for item_id in _ids(item_ids):
            try:
                if item_id not in shown:
                    raise NotShownError(f"review item {item_id} is not on your grid")
                grant = self.reveal(item_id, reviewer, target=target)
            except OhscError as exc:
                out.append(ItemOutcome(item_id, False, exc.code, exc.message))
                continue
            path = "grey" if target == "grey" else "media"
            out.append(
                ItemOutcome(item_id, True, "revealed", url=f"/review/items/{item_id}/{path}?grant={grant}")
            )
        return out

    def decide_many(
        self, item_ids: Sequence[int], reviewer: Reviewer, choice: Choice | str, *, note: str | None = None
    ) -> list[ItemOutcome]:
        """Decide each item with the single-decision rules (its own transaction and audit event).
        Refused per item: not claimed by this reviewer (not shown to them), decided already,
        escalated (unless an admin), a second confirmation by the first confirmer."""
        choice = Choice(choice)
        if reviewer.user_id is None:
            raise InvalidInputError("only logged-in reviewers decide from the grid")
        note = (note or "").strip()[:NOTE_CHARS] or None
        banks = BankService(self.store, self.settings, actor=reviewer.actor)
        out: list[ItemOutcome] = []
        for item_id in _ids(item_ids):
            now = utcnow()
            try:
                with self.store.session() as s:
                    row, content = self._lock(s, item_id)
                    if row.claimed_by != reviewer.user_id or not self._claim_live(row, now):
                        raise NotShownError(f"review item {item_id} is not on your grid: open it first")
                    step = self._decide_locked(s, row, content, reviewer, choice, note, banks, None, now)
            except OhscError as exc:
                out.append(ItemOutcome(item_id, False, exc.code, exc.message))
                continue
            out.append(ItemOutcome(item_id, True, step.outcome))
        with self.store.session() as s:
            audit.record(
                s,
                actor=reviewer.actor,
                action="review.decide_many",
                object_type="review_item",
                details={
                    "decision": choice.value,
                    "decided": [o.item_id for o in out if o.ok],
                    "refused": {str(o.item_id): o.outcome for o in out if not o.ok},
                },
            )
        return out
