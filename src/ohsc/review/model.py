"""What the review service hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from ohsc.accounts.model import ApiClient, User
from ohsc.accounts.roles import Role
from ohsc.store.types import IsoTime


class Status(StrEnum):
    """Review item states. Values are storage keys."""

    OPEN = "open"
    #: two-person review: confirmed once, waiting for a second, different reviewer
    AWAITING_SECOND = "awaiting_second"
    #: sent up (by a reviewer, or because two reviewers disagreed); admins take these
    ESCALATED = "escalated"
    DECIDED = "decided"


class Choice(StrEnum):
    """What a reviewer can decide. Values are storage keys."""

    CONFIRM = "confirm"
    NOT_ABUSE = "not_abuse"
    ESCALATE = "escalate"
    SKIP = "skip"


class Correction(StrEnum):
    """Entries of an item's history that correct a decision. Values are storage keys
    (``review_decisions.decision``, next to the :class:`Choice` values)."""

    #: the reviewer took back their own decision within ``OHSC_REVIEW_UNDO_SECONDS``
    UNDO = "undo"
    #: a decided item went back to the queue, with a reason (the row's note)
    REOPEN = "reopen"


#: values of ``review_decisions.decision`` that are decisions (not corrections)
DECISIONS = frozenset(c.value for c in Choice)


@dataclass(frozen=True, slots=True)
class Reviewer:
    """Who decides: a logged-in person or an API client with the review scope."""

    actor: str
    user_id: int | None
    name: str
    is_admin: bool = False

    @classmethod
    def of_user(cls, user: User) -> Reviewer:
        return cls(actor=user.actor, user_id=user.id, name=user.name, is_admin=user.role is Role.ADMIN)

    @classmethod
    def of_client(cls, client: ApiClient) -> Reviewer:
        return cls(actor=client.actor, user_id=None, name=client.name, is_admin=False)


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    content_item_id: int
    client_content_id: str | None
    status: Status
    priority: int
    reason: str
    verdict: str
    bank_names: tuple[str, ...]
    categories: tuple[str, ...]
    best_distance: int
    two_person: bool
    report_requested: bool
    claimed_by: int | None
    claimed_at: datetime | None
    claim_expires_at: datetime | None
    first_confirmed_by: str | None
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    has_media: bool
    media_kind: str | None
    media_format: str | None
    media_purged: bool
    #: when the content arrived (its submission)
    received_at: datetime | None = None
    #: the upload's size in bytes (None for hash-only submissions)
    media_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "id": self.id,
            "content": {
                "id": self.content_item_id,
                "content_id": self.client_content_id,
                "received_at": iso(self.received_at),
            },
            "status": self.status.value,
            "priority": self.priority,
            "reason": self.reason,
            "verdict": self.verdict,
            "banks": list(self.bank_names),
            "categories": list(self.categories),
            "best_distance": self.best_distance,
            "two_person": self.two_person,
            "report_requested": self.report_requested,
            "claimed": self.claim_expires_at is not None,
            "claimed_by": self.claimed_by,
            "claim_expires_at": iso(self.claim_expires_at),
            "first_confirmed_by": self.first_confirmed_by,
            "decision": self.decision,
            "decided_by": self.decided_by,
            "decided_at": iso(self.decided_at),
            "created_at": iso(self.created_at),
            "media": {
                "held": self.has_media,
                "kind": self.media_kind,
                "format": self.media_format,
                "purged": self.media_purged,
                "size": self.media_size,
            },
        }


class DecisionRecord(BaseModel):
    """One decision in an item's history, as the library, the pages and the API
    (``/v1/review-items/{id}``'s ``decisions``) show it."""

    model_config = ConfigDict(frozen=True)

    id: int
    item_id: int
    actor: str
    decision: str
    note: str | None
    viewed_unblurred: bool
    added_to_bank_id: int | None
    at: IsoTime
    undone_at: IsoTime | None = None


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What a bulk step did to one item: ``ok`` with ``outcome`` (a decision's outcome, or
    ``revealed``), or refused with ``outcome`` the error code and ``message`` why."""

    item_id: int
    ok: bool
    outcome: str
    message: str = ""
    #: a reveal's unlocking URL
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "ok": self.ok, "outcome": self.outcome, "message": self.message,
                "url": self.url}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Undoable:
    """A reviewer's latest decision while they may still take it back."""

    item_id: int
    decision_id: int
    decision: str
    at: datetime
    expires_at: datetime


@dataclass(slots=True)
class ReviewDetail:
    item: ReviewItem
    matches: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    signals: dict[str, str] = field(default_factory=dict)
    #: whether anyone viewed the unblurred media of this item
    viewed_unblurred: bool = False
    #: entry id -> a reference thumbnail is held
    thumbnails: set[int] = field(default_factory=set)
    #: the name of the person holding the item (a live claim), if any
    claimed_by_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.item.to_dict(),
            "claimed_by_name": self.claimed_by_name,
            "matches": [{**m, "reference_thumbnail": m["entry_id"] in self.thumbnails} for m in self.matches],
            "decisions": [d.model_dump(mode="json") for d in self.decisions],
            "signals": self.signals,
            "viewed_unblurred": self.viewed_unblurred,
        }


@dataclass(frozen=True, slots=True)
class Exposure:
    """A reviewer's exposure today (UTC day) and whether a break is due."""

    reveals_today: int
    decisions_today: int
    daily_limit: int
    recent_reveals: int
    break_after: int
    break_window_minutes: int

    @property
    def limit_reached(self) -> bool:
        return self.daily_limit > 0 and self.reveals_today >= self.daily_limit

    @property
    def break_due(self) -> bool:
        return self.recent_reveals >= self.break_after

    @property
    def remaining(self) -> int | None:
        return None if self.daily_limit == 0 else max(0, self.daily_limit - self.reveals_today)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reveals_today": self.reveals_today,
            "decisions_today": self.decisions_today,
            "daily_limit": self.daily_limit,
            "remaining": self.remaining,
            "limit_reached": self.limit_reached,
            "break_due": self.break_due,
        }
