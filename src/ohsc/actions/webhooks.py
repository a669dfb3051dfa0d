"""Webhooks: registration, and delivery from the durable outbox with retries and a log.

Events are written to ``webhook_outbox`` in the transaction that caused them (see
:func:`ohsc.actions.events.emit`), so nothing is sent for a change that rolled back and nothing
is lost when a process dies. :class:`Dispatcher` claims due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, a conditional update everywhere), posts the signed body, logs the attempt, and on
failure schedules the next try after ``OHSC_WEBHOOK_BACKOFF_SECONDS * 2**(attempt-1)`` (capped at
six hours) until ``OHSC_WEBHOOK_MAX_ATTEMPTS``.

Targets go through the egress guard (:mod:`ohsc.net`): an internal address (or a name resolving
to one) is refused when the webhook is created and again at every delivery, where the name is
resolved once and the connection goes to the checked address. Redirects are not followed. The
delivery log keeps the status code and the kind of failure, never a response body or what an
error message said about the target.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.actions import events
from ohsc.actions.models import DeliveryRow, OutboxRow, WebhookRow
from ohsc.actions.sealing import content_key, seal, unseal
from ohsc.actions.signing import HEADER, sign
from ohsc.errors import EgressRefusedError, EgressResolveError, InvalidInputError, WebhookNotFoundError
from ohsc.net import EgressGuard, Resolver, guarded_client
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import IsoTime, utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
#: the event :meth:`WebhookService.send_test` queues (for one webhook; nobody subscribes to it)
TEST_EVENT = "webhook.test"


class Webhook(BaseModel):
    """A registered webhook, as the library, the CLI (``--json``) and the API (``/v1/webhooks``)
    show it."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    url: str
    event_types: tuple[str, ...]
    enabled: bool
    created_by: str
    created_at: IsoTime


class Delivery(BaseModel):
    """One delivery attempt in a webhook's log (status and kind of failure only)."""

    model_config = ConfigDict(frozen=True)

    id: int
    outbox_id: int
    event_id: str
    event_type: str
    attempt: int
    at: IsoTime
    status_code: int | None
    error: str | None
    duration_ms: int
    #: answered 2xx without an error
    ok: bool


def _to_webhook(row: WebhookRow) -> Webhook:
    return Webhook(
        id=row.id,
        name=row.name,
        url=row.url,
        event_types=tuple(row.event_types),
        enabled=row.enabled,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _check_url(url: str, guard: EgressGuard) -> str:
    """A webhook URL the egress policy allows (its name resolved now when it resolves at all)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInputError("a webhook URL is an http:// or https:// URL of at most 2000 characters")
    if parts.username or parts.password:
        raise InvalidInputError("put no credentials in a webhook URL: requests are signed")
    with contextlib.suppress(EgressResolveError):  # not resolvable now: checked at every delivery
        guard.resolve(url)
    return url


class WebhookService:
    def __init__(
        self, store: Store, settings: Settings, actor: str = "cli", *, resolver: Resolver | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.guard = EgressGuard.from_settings(settings, resolver=resolver)

    def create(
        self, name: str, url: str, event_types: Sequence[str], secret: str | None = None
    ) -> tuple[Webhook, str]:
        """Register a webhook; returns it and its signing secret (generated when not given)."""
        url = _check_url(url, self.guard)
        types = sorted(set(event_types)) or ["*"]
        unknown = [t for t in types if t != "*" and t not in events.EVENT_TYPES]
        if unknown:
            raise InvalidInputError(
                f"unknown event type(s) {', '.join(unknown)} (known: {', '.join(events.EVENT_TYPES)}, *)"
            )
        secret = secret or secrets.token_urlsafe(32)
        if len(secret) < 16:
            raise InvalidInputError("a webhook secret needs at least 16 characters")
        name = name.strip() or urlsplit(url).hostname or "webhook"
        with self.store.session() as s:
            row = WebhookRow(
                name=name[:200],
                url=url,
                secret_sealed=seal(content_key(self.settings), secret),
                event_types=types,
                created_by=self.actor,
            )
            s.add(row)
            s.flush()
            audit.record(
                s,
                actor=self.actor,
                action="webhook.create",
                object_type="webhook",
                object_id=row.id,
                details={"name": row.name, "host": urlsplit(url).hostname, "event_types": types},
            )
            return _to_webhook(row), secret

    def list_webhooks(self) -> list[Webhook]:
        with self.store.session() as s:
            return [_to_webhook(r) for r in s.scalars(select(WebhookRow).order_by(WebhookRow.id))]

    def get(self, webhook_id: int) -> Webhook:
        with self.store.session() as s:
            row = s.get(WebhookRow, webhook_id)
            if row is None:
                raise WebhookNotFoundError(f"no webhook {webhook_id}")
            return _to_webhook(row)

    def update(
        self, webhook_id: int, *, enabled: bool | None = None, event_types: Sequence[str] | None = None
    ) -> Webhook:
        with self.store.session() as s:
            row = s.get(WebhookRow, webhook_id)
            if row is None:
                raise WebhookNotFoundError(f"no webhook {webhook_id}")
            if enabled is not None:
                row.enabled = enabled
            if event_types is not None:
                unknown = [t for t in event_types if t != "*" and t not in events.EVENT_TYPES]
                if unknown:
                    raise InvalidInputError(f"unknown event type(s) {', '.join(unknown)}")
                row.event_types = sorted(set(event_types)) or ["*"]
            audit.record(
                s,
                actor=self.actor,
                action="webhook.update",
                object_type="webhook",
                object_id=row.id,
                details={"enabled": row.enabled, "event_types": row.event_types},
            )
            return _to_webhook(row)

    def delete(self, webhook_id: int) -> None:
        with self.store.session() as s:
            row = s.get(WebhookRow, webhook_id)
            if row is None:
                raise WebhookNotFoundError(f"no webhook {webhook_id}")
            audit.record(
                s, actor=self.actor, action="webhook.delete", object_type="webhook", object_id=row.id
            )
            s.delete(row)

    def send_test(self, webhook_id: int) -> str:
        """Queue a ``webhook.test`` event for this webhook only (delivered like any other, so the
        delivery log shows whether the target answers); returns the event id."""
        with self.store.session() as s:
            row = s.get(WebhookRow, webhook_id)
            if row is None:
                raise WebhookNotFoundError(f"no webhook {webhook_id}")
            if not row.enabled:
                raise InvalidInputError(f"webhook {webhook_id} is disabled")
            event = events.Event(
                type=TEST_EVENT, id=uuid.uuid4().hex, at=utcnow(), payload={"webhook_id": row.id}
            )
            s.add(
                OutboxRow(
                    webhook_id=row.id,
                    event_id=event.id,
                    event_type=TEST_EVENT,
                    payload=event.envelope(),
                    next_attempt_at=event.at,
                )
            )
            audit.record(
                s,
                actor=self.actor,
                action="webhook.test",
                object_type="webhook",
                object_id=row.id,
                details={"event_id": event.id},
            )
            return event.id

    def deliveries(self, webhook_id: int, *, before: int | None = None, limit: int = 50) -> list[Delivery]:
        with self.store.session() as s:
            if s.get(WebhookRow, webhook_id) is None:
                raise WebhookNotFoundError(f"no webhook {webhook_id}")
            q = (
                select(DeliveryRow, OutboxRow.event_id, OutboxRow.event_type)
                .join(OutboxRow, OutboxRow.id == DeliveryRow.outbox_id)
                .where(DeliveryRow.webhook_id == webhook_id)
            )
            if before is not None:
                q = q.where(DeliveryRow.id < before)
            rows = s.execute(q.order_by(DeliveryRow.id.desc()).limit(limit)).all()
            return [
                Delivery(
                    id=d.id,
                    outbox_id=d.outbox_id,
                    event_id=eid,
                    event_type=etype,
                    attempt=d.attempt,
                    at=d.at,
                    status_code=d.status_code,
                    error=d.error,
                    duration_ms=d.duration_ms,
                    ok=d.error is None and d.status_code is not None and 200 <= d.status_code < 300,
                )
                for d, eid, etype in rows
            ]


@dataclass(slots=True)
class _Job:
    outbox_id: int
    webhook_id: int
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes
    attempt: int


class Dispatcher:
    """Deliver due outbox rows. Safe to run in several processes at once."""

    def __init__(self, store: Store, settings: Settings, *, resolver: Resolver | None = None) -> None:
        self.store = store
        self.settings = settings
        self._client = guarded_client(
            EgressGuard.from_settings(settings, resolver=resolver),
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
        )
        self._key = content_key(settings)

    def close(self) -> None:
        self._client.close()

    def _claim(self, s: Session, limit: int) -> list[_Job]:
        now = utcnow()
        due = (
            select(OutboxRow.id)
            .where(
                OutboxRow.status == "pending",
                OutboxRow.next_attempt_at <= now,
                (OutboxRow.locked_until.is_(None)) | (OutboxRow.locked_until < now),
            )
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        if self.store.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(s.scalars(due))
        lease = now + timedelta(seconds=self.settings.webhook_timeout_seconds * 3)
        jobs: list[_Job] = []
        for outbox_id in ids:
            claimed = s.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == outbox_id,
                    OutboxRow.status == "pending",
                    (OutboxRow.locked_until.is_(None)) | (OutboxRow.locked_until < now),
                )
                .values(locked_until=lease, attempts=OutboxRow.attempts + 1)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                continue
            row = s.get(OutboxRow, outbox_id)
            hook = s.get(WebhookRow, row.webhook_id) if row is not None else None
            if row is None or hook is None:
                continue
            if not hook.enabled:
                row.status, row.last_error, row.locked_until = "failed", "webhook disabled", None
                continue
            jobs.append(
                _Job(
                    outbox_id=row.id,
                    webhook_id=hook.id,
                    url=hook.url,
                    secret=unseal(self._key, hook.secret_sealed),
                    event_id=row.event_id,
                    event_type=row.event_type,
                    body=json.dumps(row.payload, separators=(",", ":"), sort_keys=True).encode(),
                    attempt=row.attempts,
                )
            )
        return jobs

    def _send(self, job: _Job) -> tuple[int | None, str | None, int]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "ohsc-webhook/1",
            "OHSC-Event": job.event_type,
            "OHSC-Delivery": job.event_id,
            HEADER: sign(job.secret, job.body),
        }
        started = time.monotonic()
        try:
            # the body is never read: only the status is kept
            with self._client.stream("POST", job.url, content=job.body, headers=headers) as response:
                status = response.status_code
        except (EgressRefusedError, EgressResolveError, InvalidInputError) as exc:
            error = f"{exc.code}: {exc.message}"[:500]
            return None, error, int((time.monotonic() - started) * 1000)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return None, type(exc).__name__, int((time.monotonic() - started) * 1000)
        ms = int((time.monotonic() - started) * 1000)
        if 200 <= status < 300:
            return status, None, ms
        return status, f"HTTP {status}", ms

    def deliver_due(self, limit: int = 20) -> int:
        """Claim and send up to ``limit`` due deliveries; returns how many were attempted."""
        with self.store.session() as s:
            jobs = self._claim(s, limit)
        for job in jobs:
            status, error, ms = self._send(job)
            now = utcnow()
            with self.store.session() as s:
                s.add(
                    DeliveryRow(
                        outbox_id=job.outbox_id,
                        webhook_id=job.webhook_id,
                        attempt=job.attempt,
                        at=now,
                        status_code=status,
                        error=error,
                        duration_ms=ms,
                    )
                )
                row = s.get(OutboxRow, job.outbox_id)
                if row is None:
                    continue
                row.locked_until = None
                if error is None:
                    row.status, row.delivered_at, row.last_error = "delivered", now, None
                elif job.attempt >= self.settings.webhook_max_attempts:
                    row.status, row.last_error = "failed", error
                    log.warning("webhook %s: giving up on event %s: %s", job.webhook_id, job.event_id, error)
                else:
                    delay = timedelta(seconds=self.settings.webhook_backoff_seconds * 2 ** (job.attempt - 1))
                    row.next_attempt_at = now + min(delay, MAX_BACKOFF)
                    row.last_error = error
        return len(jobs)
