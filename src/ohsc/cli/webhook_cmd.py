"""``ohsc webhook ...``: register, list and delete webhooks, and read their delivery log."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.table import Table

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json

if TYPE_CHECKING:
    from ohsc.actions.webhooks import WebhookService


def _hooks(app: App) -> WebhookService:
    from ohsc.actions.webhooks import WebhookService

    return WebhookService(app.store, app.settings, actor=app.actor)


@click.group("webhook")
def webhook() -> None:
    """Webhooks: signed event deliveries to your systems (internal addresses need OHSC_EGRESS_ALLOW)."""


@webhook.command("create")
@click.argument("name")
@click.argument("url")
@click.option("--event", "events", multiple=True, help="Event type to send (repeatable; default: all).")
@pass_app
def webhook_create(app: App, name: str, url: str, events: tuple[str, ...]) -> None:
    """Register a webhook; its signing secret is printed once, alone on stdout."""
    hook, secret = _hooks(app).create(name, url, events or ["*"])
    err.print(
        f"created webhook {hook.id} [bold]{e(hook.name)}[/] for {', '.join(hook.event_types)}; "
        "its signing secret is shown only now:"
    )
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def webhook_list(app: App, as_json: bool) -> None:
    """List webhooks."""
    hooks = _hooks(app).list_webhooks()
    if as_json:
        for h in hooks:
            print_json(h.model_dump(mode="json"))
        return
    table = Table("id", "name", "url", "events", "enabled")
    for h in hooks:
        table.add_row(str(h.id), e(h.name), e(h.url), ", ".join(h.event_types), "yes" if h.enabled else "no")
    out.print(table)


@webhook.command("delete")
@click.argument("webhook_id", type=int)
@pass_app
def webhook_delete(app: App, webhook_id: int) -> None:
    """Delete a webhook (undelivered events for it are dropped)."""
    _hooks(app).delete(webhook_id)
    out.print(f"deleted webhook {webhook_id}")


@webhook.command("test")
@click.argument("webhook_id", type=int)
@pass_app
def webhook_test(app: App, webhook_id: int) -> None:
    """Queue a webhook.test event for one webhook (the server delivers it; see deliveries)."""
    event_id = _hooks(app).send_test(webhook_id)
    out.print(f"queued test event {event_id} for webhook {webhook_id}")


@webhook.command("deliveries")
@click.argument("webhook_id", type=int)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def webhook_deliveries(app: App, webhook_id: int, limit: int, as_json: bool) -> None:
    """The delivery log of a webhook, newest first (status and kind of failure only)."""
    rows = _hooks(app).deliveries(webhook_id, limit=limit)
    if as_json:
        for d in rows:
            print_json(d.model_dump(mode="json"))
        return
    table = Table("id", "event", "attempt", "at", "status", "error")
    for d in rows:
        table.add_row(str(d.id), d.event_type, str(d.attempt), d.at.strftime("%Y-%m-%d %H:%M:%S"),
                      str(d.status_code or "-"), e(d.error or ""))  # fmt: skip
    out.print(table)
