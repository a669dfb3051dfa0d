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


@takedown.command("notify")
@pass_app
def takedown_notify(app: App) -> None:
    """Send first notices for confirmed takedowns that have none yet."""
    from ohsc.removal.notices import NoticeService

    sent = NoticeService(app.store, app.settings, actor=app.actor).notify_pending()
    out.print(f"{sent} notice(s) sent")


@takedown.command("recheck")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every open takedown, due or not.")
@click.option("--no-notify", is_flag=True, help="Check only; send no notices.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def takedown_recheck(
    app: App, ids: tuple[int, ...], everything: bool, no_notify: bool, as_json: bool
) -> None:
    """Check open takedowns that are due (or IDS, or --all): gone ones are marked removed with
    their removal time; the host of what is still up is notified again."""
    from ohsc.removal.recheck import Rechecker

    checker = Rechecker(app.store, app.settings, actor=app.actor)
    try:
        stats = checker.run(ids=ids, everything=everything, notify=not no_notify)
    finally:
        checker.close()
    if as_json:
        print_json(stats.to_dict())
        return
    out.print(
        f"checked {stats.checked}: removed {stats.removed}, still up {stats.still_up}, "
        f"unknown {stats.unknown}; {stats.notices} notice(s) sent"
    )


@takedown.group("contact")
def contact() -> None:
    """Abuse contacts set by operators (they win over RDAP)."""


@contact.command("add")
@click.argument("host")
@click.argument("email")
@click.option("--language", default="en", show_default=True, help="Language of notices (en, de).")
@pass_app
def contact_add(app: App, host: str, email: str, language: str) -> None:
    """Send notices about HOST to EMAIL."""
    from ohsc.removal.hosts import HostDirectory

    HostDirectory(app.store, app.settings, actor=app.actor).add_contact(host, email, language=language)
    out.print(f"notices about {e(host)} go to {e(email)}")


@contact.command("remove")
@click.argument("host")
@pass_app
def contact_remove(app: App, host: str) -> None:
    """Forget the contact of HOST (RDAP's is used again)."""
    from ohsc.removal.hosts import HostDirectory

    HostDirectory(app.store, app.settings, actor=app.actor).remove_contact(host)
    out.print(f"contact of {e(host)} removed")


@contact.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def contact_list(app: App, as_json: bool) -> None:
    """Operators' contacts."""
    from ohsc.removal.hosts import HostDirectory

    for c in HostDirectory(app.store, app.settings, actor=app.actor).contacts():
        if as_json:
            print_json(c)
        else:
            out.print(f"{e(c['host'])}\t{e(c['email'])}\t{c['language']}")


@takedown.command("whois")
@click.argument("host")
@click.option("--refresh", is_flag=True, help="Ask RDAP again even when the answer is cached.")
@pass_app
def takedown_whois(app: App, host: str, refresh: bool) -> None:
    """Who hosts HOST: address, network, country and contact (RDAP, or an operator's contact)."""
    from ohsc.removal.hosts import HostDirectory

    print_json(
        HostDirectory(app.store, app.settings, actor=app.actor).lookup(host, refresh=refresh).to_dict()
    )


@takedown.command("stats")
@click.option(
    "--by", type=click.Choice(["all", "host", "network", "country"]), default="all", show_default=True
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True
)
@pass_app
def takedown_stats(app: App, by: str, fmt: str) -> None:
    """Removal times (first notice to first check that found it gone): median, p90, share removed
    within 24/48/72 h, share still up after 42 days."""
    import sys

    from ohsc.removal.stats import CSV_COLUMNS, removal_stats, write_csv

    stats = removal_stats(app.store, by=by)
    if fmt == "json":
        print_json({"by": by, "groups": [g.to_dict() for g in stats]})
        return
    if fmt == "csv":
        write_csv(stats, sys.stdout)
        return
    table = Table(*CSV_COLUMNS)
    for g in stats:
        table.add_row(*(e("" if v is None else v) for v in g.to_dict().values()))
    out.print(table)


@takedown.command("urllist")
@click.option("--media-only", is_flag=True, help="Media URLs only (default: their pages too).")
@pass_app
def takedown_urllist(app: App, media_only: bool) -> None:
    """Live confirmed URLs, one a line, for blocking partners (the export is audited)."""
    import sys

    from ohsc.removal.stats import live_urls

    for url in live_urls(app.store, actor=app.actor, pages=not media_only):
        sys.stdout.write(url + "\n")
