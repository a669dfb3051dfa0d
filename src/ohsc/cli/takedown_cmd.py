"""``ohsc takedown ...``: matched URLs on the web, notices to their hosts, re-checks, statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from ohsc.cli.app import App, out, pass_app
from ohsc.cli.render import e, print_json

if TYPE_CHECKING:
    from ohsc.removal.takedowns import TakedownService


def _service(app: App) -> TakedownService:
    from ohsc.removal.takedowns import TakedownService

    return TakedownService(app.store, app.settings, actor=app.actor)


@click.group("takedown")
def takedown() -> None:
    """Takedowns: notices to hosts (OHSC_SMTP_URL), re-checks until removal, removal times."""


@takedown.command("list")
@click.option(
    "--status", type=click.Choice(["awaiting_confirmation", "open", "removed", "dismissed"]), default=None
)
@click.option("--host", default=None)
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def takedown_list(app: App, status: str | None, host: str | None, limit: int, as_json: bool) -> None:
    """Takedowns, oldest first."""
    rows = _service(app).list_takedowns(status=status, host=host, limit=limit)
    if as_json:
        for t in rows:
            print_json(t.to_dict())
        return
    table = Table("id", "status", "host", "notices", "contact", "removed after", "url")
    for t in rows:
        after = f"{t.removal_seconds / 3600:.1f} h" if t.removal_seconds is not None else ""
        table.add_row(
            str(t.id), t.status, e(t.host), str(t.notices_sent), e(t.contact or ""), after, e(t.url)
        )
    out.print(table)


@takedown.command("show")
@click.argument("takedown_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def takedown_show(app: App, takedown_id: int, as_json: bool) -> None:
    """One takedown with its notices."""
    t = _service(app).get(takedown_id)
    data = t.to_dict()
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key != "notices":
            out.print(f"{key}: {e(value if value is not None else '')}")
    for n in t.notices:
        out.print(f"notice {n.id}: {n.sent_at.isoformat()} {n.role} {e(n.recipient)} {n.channel} {n.status}")


@takedown.command("confirm")
@click.argument("takedown_id", type=int)
@pass_app
def takedown_confirm(app: App, takedown_id: int) -> None:
    """Confirm a match that waits for an analyst (OHSC_REMOVAL_REQUIRE_CONFIRMATION)."""
    t = _service(app).confirm(takedown_id)
    out.print(f"takedown {t.id} confirmed")


@takedown.command("dismiss")
@click.argument("takedown_id", type=int)
@click.option("--reason", required=True)
@pass_app
def takedown_dismiss(app: App, takedown_id: int, reason: str) -> None:
    """Stop a takedown (a wrong match): no more notices or re-checks."""
    t = _service(app).dismiss(takedown_id, reason)
    out.print(f"takedown {t.id} dismissed")
