"""Domain events: in-transaction hooks for other packages, and webhook deliveries.

:func:`emit` runs every handler subscribed to the event type inside the caller's transaction
(a handler that raises rolls the whole change back), then queues one outbox row per webhook
that asked for the type. Event type names are storage keys (webhook subscriptions name them).

Other packages subscribe at import time::

    from ohsc.actions import events

    @events.on(events.REVIEW_CONFIRMED)
    def draft_report(session: Session, event: events.Event) -> None:
        ...  # event.payload["review_item_id"], ["report_requested"], ["matches"], ...

and make sure the module is imported: add it to :data:`HANDLER_MODULES` or declare an entry
point in the ``ohsc.events`` group. Both are imported once, before the first event.
"""

from __future__ import annotations

import importlib
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc.store.types import utcnow

log = logging.getLogger(__name__)

#: content matched at least one bank entry (after allowlists)
MATCH_CREATED = "match.created"
#: a review item entered the queue
REVIEW_CREATED = "review.created"
#: any final review decision (confirm or not_abuse) or an escalation
REVIEW_DECIDED = "review.decided"
#: a reviewer (or two, where the bank asks for it) confirmed a match: reports start here
REVIEW_CONFIRMED = "review.confirmed"

#: a reviewer undid their own decision within the undo window (the item is back in review)
REVIEW_UNDONE = "review.undone"
#: a decided item was reopened with a reason (the item is back in review)
REVIEW_REOPENED = "review.reopened"

EVENT_TYPES: tuple[str, ...] = (
    MATCH_CREATED,
    REVIEW_CREATED,
    REVIEW_DECIDED,
    REVIEW_CONFIRMED,
    REVIEW_UNDONE,
    REVIEW_REOPENED,
)

#: Modules imported before the first event so their ``@on`` handlers are registered.
HANDLER_MODULES: list[str] = []


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    id: str
    at: datetime
    payload: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """The JSON body a webhook receives."""
        return {"id": self.id, "type": self.type, "created_at": self.at.isoformat(), "data": self.payload}


Handler = Callable[[Session, Event], None]

_handlers: dict[str, list[Handler]] = {}
_loaded = False
_load_lock = threading.Lock()


def register_event_type(name: str) -> str:
    """Declare a new event type (so webhooks may subscribe to it)."""
    global EVENT_TYPES
    if name not in EVENT_TYPES:
        EVENT_TYPES = (*EVENT_TYPES, name)
    return name


def subscribe(event_type: str, handler: Handler) -> Handler:
    """Call ``handler(session, event)`` for every event of ``event_type`` (``*``: all types)."""
    if event_type != "*" and event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)
    return handler


def unsubscribe(event_type: str, handler: Handler) -> None:
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def on(event_type: str) -> Callable[[Handler], Handler]:
    """Decorator form of :func:`subscribe`."""

    def deco(fn: Handler) -> Handler:
        return subscribe(event_type, fn)

    return deco


def load_handlers() -> None:
    """Import the handler modules (once)."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        _import_handlers()
        _loaded = True


def _import_handlers() -> None:
    # importing twice is harmless (modules are cached, subscribe() ignores repeats)
    for name in HANDLER_MODULES:
        importlib.import_module(name)
    for ep in entry_points(group="ohsc.events"):
        try:
            ep.load()
        except Exception:
            log.exception("event handler plugin %s failed to load", ep.name)
            raise


def emit(session: Session, event_type: str, payload: dict[str, Any]) -> Event:
    """Run the handlers and queue webhook deliveries, in the caller's transaction."""
    from ohsc.actions.models import OutboxRow, WebhookRow

    load_handlers()
    event = Event(type=event_type, id=uuid.uuid4().hex, at=utcnow(), payload=payload)
    for handler in [*_handlers.get(event_type, []), *_handlers.get("*", [])]:
        handler(session, event)
    hooks = session.execute(select(WebhookRow.id, WebhookRow.event_types).where(WebhookRow.enabled.is_(True)))
    body = event.envelope()
    for hook_id, types in hooks:
        if event_type in types or "*" in types:
            session.add(
                OutboxRow(
                    webhook_id=hook_id,
                    event_id=event.id,
                    event_type=event_type,
                    payload=body,
                    next_attempt_at=event.at,
                )
            )
    return event
