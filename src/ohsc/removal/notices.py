"""Removal notices: one message per recipient and language (Jinja2 templates), by SMTP.

A notice names the URLs, their hashes, category, first-seen time and the legal basis: never the
media. ``OHSC_SMTP_URL`` says where mail goes (``smtp://user:pass@host:587`` with STARTTLS,
``smtps://`` for TLS from the start, ``?starttls=0`` for a plain connection, refused except to a
loopback server); without it notices are written as ``.eml`` files under ``OHSC_HOME/outbox/
notices`` for someone to send. Every notice is an audit event (``takedown.notice``).

After ``OHSC_REMOVAL_ESCALATE_AFTER`` notices to the host, the upstream network's contact (RDAP
registrant or NOC) gets the notice too.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select

from ohsc import audit
from ohsc.errors import ConfigError, NoticeDeliveryError
from ohsc.permissions import private_dir
from ohsc.removal.hosts import HostDirectory, HostInfo
from ohsc.removal.models import TakedownNoticeRow, TakedownRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow

TEMPLATES = Path(__file__).with_name("templates")
LANGUAGES = tuple(sorted(p.name.split(".")[1] for p in TEMPLATES.glob("notice.*.txt")))


@dataclass(frozen=True, slots=True)
class Outgoing:
    recipient: str
    role: str
    language: str
    subject: str
    body: str


class Mailer:
    """Sends one message: SMTP when ``OHSC_SMTP_URL`` is set, else an ``.eml`` file in the outbox."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def channel(self) -> str:
        return "smtp" if self.settings.smtp_url else "outbox"

    def send(self, out: Outgoing) -> str:
        msg = EmailMessage()
        msg["From"] = self.settings.removal_sender
        msg["To"] = out.recipient
        msg["Subject"] = out.subject
        msg["Message-ID"] = make_msgid(domain="ohsc.removal")
        msg["Content-Language"] = out.language
        msg.set_content(out.body)
        if not self.settings.smtp_url:
            folder = private_dir(self.settings.home / "outbox" / "notices")
            name = str(msg["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_")
            (folder / f"{name}.eml").write_bytes(bytes(msg))
            return str(msg["Message-ID"])
        self._smtp(msg)
        return str(msg["Message-ID"])

    def _smtp(self, msg: EmailMessage) -> None:
        url = urlsplit(self.settings.smtp_url or "")
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ConfigError("OHSC_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://...")
        query = parse_qs(url.query)
        starttls = url.scheme == "smtp" and query.get("starttls", ["1"])[0] not in ("0", "false", "no")
        if url.scheme == "smtp" and not starttls and not _loopback(url.hostname):
            raise ConfigError("OHSC_SMTP_URL: a plain connection (starttls=0) is allowed to loopback only")
        port = url.port or (465 if url.scheme == "smtps" else 587)
        timeout = self.settings.crawl_timeout_seconds
        try:
            client: smtplib.SMTP
            if url.scheme == "smtps":
                client = smtplib.SMTP_SSL(
                    url.hostname, port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(url.hostname, port, timeout=timeout)
            with client:
                if starttls:
                    client.starttls(context=ssl.create_default_context())
                if url.username:
                    client.login(unquote(url.username), unquote(url.password or ""))
                client.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            raise NoticeDeliveryError(
                f"the mail server did not take the notice: {type(exc).__name__}"
            ) from None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class NoticeService:
    def __init__(
        self, store: Store, settings: Settings, *, actor: str = "system", hosts: HostDirectory | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.hosts = hosts or HostDirectory(store, settings, actor=actor)
        self.mailer = Mailer(settings)

    @cached_property
    def _env(self) -> Any:
        import jinja2

        return jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            autoescape=False,  # noqa: S701 - plain-text mail, never HTML
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, rows: list[TakedownRow], *, role: str, language: str, notices: int) -> Outgoing:
        lang = language if language in LANGUAGES else "en"
        items = [
            {
                "id": r.id,
                "url": r.url,
                "page_url": r.page_url,
                "md5": r.md5,
                "sha1": r.sha1,
                "pdq": r.pdq,
                "category": r.category,
                "first_seen": r.first_seen_at.strftime("%Y-%m-%d %H:%M UTC"),
                "notice_number": r.notices_sent + 1,
            }
            for r in rows
        ]
        hosts = sorted({r.host for r in rows})
        body = self._env.get_template(f"notice.{lang}.txt").render(
            role=role,
            hosts=hosts,
            items=items,
            notices=notices,
            organisation=self.settings.removal_organisation,
            legal_basis=self.settings.removal_legal_basis,
            recheck_hours=f"{self.settings.removal_recheck_hours:g}",
        )
        subject = f"Removal request: {len(items)} URL(s) on {', '.join(hosts)} [{rows[0].id}]"
        return Outgoing("", role, lang, subject, body)

    # --- sending -----------------------------------------------------------------------------

    def notify_pending(self, *, now: datetime | None = None) -> int:
        """First notices for confirmed takedowns that have none yet; the number of messages sent."""
        with self.store.session() as s:
            ids = list(
                s.scalars(
                    select(TakedownRow.id).where(TakedownRow.status == "open", TakedownRow.notices_sent == 0)
                )
            )
        return self.send_round(ids, now=now)

    def _locate(self, ids: list[int]) -> dict[int, HostInfo]:
        with self.store.session() as s:
            hosts = {r.id: r.host for r in s.scalars(select(TakedownRow).where(TakedownRow.id.in_(ids)))}
        infos = {h: self.hosts.lookup(h) for h in set(hosts.values())}
        return {tid: infos[h] for tid, h in hosts.items()}

    def send_round(self, ids: list[int], *, now: datetime | None = None) -> int:
        """Send (or send again) the notices of these takedowns, grouped per recipient and language."""
        if not ids:
            return 0
        now = now or utcnow()
        located = self._locate(ids)
        groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        with self.store.session() as s:
            for row in s.scalars(select(TakedownRow).where(TakedownRow.id.in_(ids))):
                info = located[row.id]
                row.address, row.network, row.country = info.address, info.network, info.country
                row.contact, row.upstream_contact = info.contact, info.upstream_contact
                if row.status != "open" or not info.contact:
                    continue
                groups[(info.contact, info.language, "host")].append(row.id)
                if row.notices_sent + 1 >= self.settings.removal_escalate_after and info.upstream_contact:
                    groups[(info.upstream_contact, "en", "upstream")].append(row.id)
        sent = 0
        for (recipient, language, role), members in groups.items():
            self._send(recipient, language, role, members, now)
            sent += 1
        return sent

    def _send(self, recipient: str, language: str, role: str, ids: list[int], now: datetime) -> None:
        with self.store.session() as s:
            rows = list(
                s.scalars(select(TakedownRow).where(TakedownRow.id.in_(ids)).order_by(TakedownRow.id))
            )
            out = self.render(rows, role=role, language=language, notices=max(r.notices_sent for r in rows))
        out = Outgoing(recipient, out.role, out.language, out.subject, out.body)
        error: str | None = None
        message_id = ""
        try:
            message_id = self.mailer.send(out)
        except NoticeDeliveryError as exc:
            error = exc.message
        with self.store.session() as s:
            for row in s.scalars(select(TakedownRow).where(TakedownRow.id.in_(ids))):
                s.add(
                    TakedownNoticeRow(
                        takedown_id=row.id,
                        recipient=recipient,
                        role=role,
                        language=out.language,
                        channel=self.mailer.channel,
                        message_id=message_id,
                        status="failed" if error else "sent",
                        error=error,
                        sent_at=now,
                    )
                )
                if error is None and role == "host":
                    row.notices_sent += 1
                    row.first_notice_at = row.first_notice_at or now
                    row.last_notice_at = now
                    row.next_check_at = now + timedelta(hours=self.settings.removal_recheck_hours)
                elif error is None:
                    row.escalated = True
            audit.record(
                s,
                actor=self.actor,
                action="takedown.notice" if error is None else "takedown.notice_failed",
                object_type="takedown",
                object_id=ids[0] if len(ids) == 1 else None,
                details={
                    "takedown_ids": ids[:500],
                    "recipient": recipient,
                    "role": role,
                    "language": out.language,
                    "channel": self.mailer.channel,
                    "message_id": message_id,
                    "error": error,
                },
            )
