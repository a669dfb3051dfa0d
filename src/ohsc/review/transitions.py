"""How a decision, an undo and a reopen change a review item's state (no database work here).

A final decision (``confirm``, or ``not_abuse``) ends review. With two-person review the first
confirmation waits for a second, different reviewer, and a second reviewer who disagrees sends
the item to the admins. ``escalate`` sends it to the admins, ``skip`` hands it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ohsc.errors import PermissionDeniedError, ReviewStateError
from ohsc.review.model import Choice, Reviewer, Status
from ohsc.review.models import ReviewItemRow


@dataclass(frozen=True, slots=True)
class Step:
    """What a decision did: ``outcome`` is the choice, or ``confirm_first`` / ``disagreement``."""

    outcome: str
    final: bool

    @property
    def announced(self) -> bool:
        """Whether hooks and webhooks hear of it (``review.decided``)."""
        return self.final or self.outcome in ("disagreement", Choice.ESCALATE.value)


def snapshot(row: ReviewItemRow) -> dict[str, Any]:
    """The state a decision changes, kept with the decision so that an undo can restore it."""
    return {"status": row.status, "first_confirmed_by": row.first_confirmed_by}


def check_may_decide(row: ReviewItemRow, reviewer: Reviewer, choice: Choice, claim_live: bool) -> None:
    if row.status == Status.DECIDED.value:
        raise ReviewStateError(f"review item {row.id} is already decided ({row.decision})")
    if claim_live and row.claimed_by != reviewer.user_id:
        raise ReviewStateError(f"review item {row.id} is claimed by another reviewer")
    if row.status == Status.ESCALATED.value and not reviewer.is_admin and choice is not Choice.SKIP:
        raise PermissionDeniedError("escalated items are decided by admins")


def _release(row: ReviewItemRow) -> None:
    row.claimed_by, row.claimed_at = None, None


def _confirm(row: ReviewItemRow, reviewer: Reviewer, status: Status) -> Step:
    if not row.two_person or status is Status.ESCALATED:
        return Step(Choice.CONFIRM.value, final=True)
    if row.first_confirmed_by is None:
        row.first_confirmed_by = reviewer.actor
        row.status = Status.AWAITING_SECOND.value
        _release(row)
        return Step("confirm_first", final=False)
    if row.first_confirmed_by == reviewer.actor:
        raise ReviewStateError("a second, different reviewer must confirm this item")
    return Step(Choice.CONFIRM.value, final=True)


def apply(row: ReviewItemRow, choice: Choice, reviewer: Reviewer, now: datetime) -> Step:
    """Change ``row`` for ``choice``; the caller checked :func:`check_may_decide`."""
    status = Status(row.status)
    if choice is Choice.SKIP:
        _release(row)
        step = Step(choice.value, final=False)
    elif choice is Choice.ESCALATE:
        row.status = Status.ESCALATED.value
        _release(row)
        step = Step(choice.value, final=False)
    elif choice is Choice.CONFIRM:
        step = _confirm(row, reviewer, status)
    elif status is Status.AWAITING_SECOND:  # not abuse from a second reviewer: an admin decides
        row.status = Status.ESCALATED.value
        _release(row)
        step = Step("disagreement", final=False)
    else:
        step = Step(choice.value, final=True)
    if step.final:
        row.status = Status.DECIDED.value
        row.decision = choice.value
        row.decided_by = reviewer.actor
        row.decided_at = now
        _release(row)
    row.updated_at = now
    return step


def restore(row: ReviewItemRow, prior: dict[str, Any], reviewer: Reviewer, now: datetime) -> None:
    """Undo: back to the state before the decision, on the screen of whoever undid it."""
    row.status = str(prior.get("status") or Status.OPEN.value)
    row.first_confirmed_by = prior.get("first_confirmed_by")
    row.decision = row.decided_by = None
    row.decided_at = None
    row.claimed_by = reviewer.user_id
    row.claimed_at = now if reviewer.user_id is not None else None
    row.updated_at = now


def reopen(row: ReviewItemRow, prior: dict[str, Any] | None, now: datetime) -> None:
    """A decided item goes back to the queue; one the admins decided after an escalation goes
    back to the admins. Two-person review starts again."""
    escalated = (prior or {}).get("status") == Status.ESCALATED.value
    row.status = Status.ESCALATED.value if escalated else Status.OPEN.value
    row.first_confirmed_by = None
    row.decision = row.decided_by = None
    row.decided_at = None
    _release(row)
    row.updated_at = now
