"""Actions: what a match does (verdicts, review items, webhooks, report requests), and domain events."""

from ohsc.actions.events import EVENT_TYPES, Event, emit, on, subscribe
from ohsc.actions.rules import Decision, Policy, Rule, Verdict
from ohsc.actions.service import ActionService
from ohsc.actions.webhooks import Dispatcher, Webhook, WebhookService

__all__ = [
    "EVENT_TYPES",
    "ActionService",
    "Decision",
    "Dispatcher",
    "Event",
    "Policy",
    "Rule",
    "Verdict",
    "Webhook",
    "WebhookService",
    "emit",
    "on",
    "subscribe",
]
