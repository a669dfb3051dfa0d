"""``ohsc exchange ...`` (exchanges this node fetches from) and ``ohsc feed ...`` (banks it publishes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json
from ohsc.errors import InvalidInputError

if TYPE_CHECKING:
    from ohsc.exchanges.feeds import FeedService
    from ohsc.exchanges.service import ExchangeService, SyncReport


def _exchanges(app: App) -> ExchangeService:
    from ohsc.exchanges.service import ExchangeService

    return ExchangeService(app.store, app.settings, actor=app.actor)


def _feeds(app: App) -> FeedService:
    from ohsc.exchanges.feeds import FeedService

    return FeedService(app.store, app.settings, actor=app.actor)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out_: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"{what} must be KEY=VALUE, got {value!r}")
        out_[key.strip().replace("-", "_")] = val
    return out_


@click.group("exchange")
def exchange() -> None:
    """Exchanges: hash lists fetched from other organisations (OHSC feeds, NCMEC, StopNCII)."""


@exchange.command("add")
@click.argument("name")
@click.option("--kind", required=True, help="ohsc-feed, ncmec or stopncii.")
@click.option("--into", "bank", required=True, help="The local bank that receives the records.")
@click.option("--url", help="The exchange's base URL (an OHSC node; NCMEC or StopNCII: their API base).")
@click.option("--bank", "published", help="ohsc-feed: the bank's name on the publisher.")
@click.option("--public-key", help="ohsc-feed: the publisher's key (`ohsc feed key` there), pinned.")
@click.option(
    "--api-key",
    envvar="OHSC_EXCHANGE_API_KEY",
    help="ohsc-feed: the API key the publisher gave you (sealed at rest; or $OHSC_EXCHANGE_API_KEY).",
)
@click.option("--username", help="ncmec: the hash-sharing user name.")
@click.option(
    "--password",
    envvar="OHSC_EXCHANGE_PASSWORD",
    help="ncmec: the password (sealed; or $OHSC_EXCHANGE_PASSWORD).",
)
@click.option(
    "--subscription-key",
    envvar="OHSC_EXCHANGE_SUBSCRIPTION_KEY",
    help="stopncii: the Ocp-Apim-Subscription-Key (sealed; or $OHSC_EXCHANGE_SUBSCRIPTION_KEY).",
)
@click.option(
    "--fetch-key",
    envvar="OHSC_EXCHANGE_FETCH_KEY",
    help="stopncii: the FetchHashes function key (sealed; or $OHSC_EXCHANGE_FETCH_KEY).",
)
@click.option(
    "--feedback-key",
    envvar="OHSC_EXCHANGE_FEEDBACK_KEY",
    help="stopncii: the SubmitFeedback function key (sealed; or $OHSC_EXCHANGE_FEEDBACK_KEY).",
)
@click.option("--set", "extra", multiple=True, metavar="KEY=VALUE", help="Another option of the kind.")
@click.option(
    "--interval",
    type=click.IntRange(0),
    default=300,
    show_default=True,
    help="Seconds between the server's scheduled syncs (0: by hand only).",
)
@pass_app
def exchange_add(
    app: App, /, name: str, kind: str, bank: str, interval: int, extra: tuple[str, ...], **given: str | None
) -> None:
    """Add an exchange that feeds the local bank --into.

    \b
    ohsc exchange add partner --kind ohsc-feed --url https://ohsc.partner.example \\
        --bank shared --into from-partner --public-key KEY --api-key ohsc_...
    """
    values = {k: v for k, v in given.items() if v}
    if "published" in values:
        values["bank"] = values.pop("published")
    values.update(_pairs(extra, "--set"))
    from ohsc.exchanges.kinds import get_kind

    cls = get_kind(kind)
    secrets = {k: v for k, v in values.items() if k in cls.secret_options}
    options = {k: v for k, v in values.items() if k not in cls.secret_options}
    info = _exchanges(app).add(name, kind, bank, options, secrets, interval_seconds=interval)
    out.print(f"added exchange [bold]{e(info.name)}[/] ({e(info.kind)}) into bank {e(info.bank)}")


@exchange.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def exchange_list(app: App, as_json: bool) -> None:
    """List exchanges (never their credentials)."""
    infos = _exchanges(app).list_exchanges()
    if as_json:
        for info in infos:
            print_json(info.to_dict())
        return
    table = Table("name", "kind", "into", "every", "last sync", "checkpoint", "last error")
    for i in infos:
        table.add_row(
            e(i.name),
            e(i.kind),
            e(i.bank),
            f"{i.interval_seconds}s" if i.interval_seconds else "by hand",
            i.last_sync_at.isoformat(timespec="seconds") if i.last_sync_at else "never",
            e(str(i.checkpoint or "")),
            e(i.last_error or ""),
        )
    out.print(table)


def _print_sync(report: SyncReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.changes.counts().items() if v)
    out.print(
        f"{e(report.exchange)}: {report.pages} page(s), {report.records} record(s)"
        + (f", {report.skipped} skipped" if report.skipped else "")
        + (f"; {counts}" if counts else "; nothing changed")
    )
    for note in report.notes[:50]:
        err.print(f"[yellow]note:[/] {e(note)}")


@exchange.command("sync")
@click.argument("names", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every enabled exchange.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def exchange_sync(app: App, names: tuple[str, ...], every: bool, as_json: bool) -> None:
    """Fetch and apply what changed since the last sync."""
    svc = _exchanges(app)
    if every:
        names = tuple(i.name for i in svc.list_exchanges() if i.enabled)
    if not names:
        raise InvalidInputError("name an exchange, or give --all")
    for name in names:
        _print_sync(svc.sync(name), as_json)


@exchange.command("remove")
@click.argument("name")
@pass_app
def exchange_remove(app: App, name: str) -> None:
    """Forget an exchange (what it brought stays in the bank)."""
    _exchanges(app).remove(name)
    out.print(f"removed exchange {e(name)}")


@exchange.command("reset")
@click.argument("name")
@pass_app
def exchange_reset(app: App, name: str) -> None:
    """Fetch everything again at the next sync."""
    _exchanges(app).reset(name)
    out.print(f"exchange {e(name)} starts from the beginning at its next sync")


@exchange.command("feedback")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def exchange_feedback(app: App, name: str, as_json: bool) -> None:
    """Send reviewer decisions on matches from this exchange back to it (where it takes feedback)."""
    sent = _exchanges(app).push_feedback(name)
    if as_json:
        print_json({"exchange": name, "sent": sent})
    else:
        out.print(f"{e(name)}: {sent} verdict(s) sent")


@click.group("feed")
def feed() -> None:
    """Feeds: banks this node publishes to partners (GET /v1/feeds/BANK), signed with the node key."""


@feed.command("key")
@pass_app
def feed_key(app: App) -> None:
    """Print this node's public key (partners pin it: ohsc exchange add ... --public-key)."""
    out.print(_feeds(app).public_key(), highlight=False)


@feed.command("publish")
@click.argument("bank")
@click.option(
    "--to", "api_key", required=True, help="The partner's API key (name, prefix or id; scope feed)."
)
@pass_app
def feed_publish(app: App, bank: str, api_key: str) -> None:
    """Let one partner read BANK's feed (hashes, categories and labels; never media)."""
    grant = _feeds(app).publish(bank, api_key)
    out.print(f"bank {e(grant.bank)} is published to {e(grant.api_key)} ({e(grant.api_key_prefix)})")


@feed.command("unpublish")
@click.argument("bank")
@click.option("--to", "api_key", required=True, help="The partner's API key (name, prefix or id).")
@pass_app
def feed_unpublish(app: App, bank: str, api_key: str) -> None:
    """Stop serving BANK's feed to one partner."""
    _feeds(app).unpublish(bank, api_key)
    out.print(f"bank {e(bank)} is no longer published to {e(api_key)}")


@feed.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def feed_list(app: App, as_json: bool) -> None:
    """Which bank is published to which partner."""
    grants = _feeds(app).grants()
    if as_json:
        for g in grants:
            print_json(g.to_dict())
        return
    table = Table("bank", "partner key", "prefix", "since")
    for g in grants:
        table.add_row(
            e(g.bank), e(g.api_key), e(g.api_key_prefix), g.created_at.isoformat(timespec="seconds")
        )
    out.print(table)


@feed.command("feedback")
@click.argument("bank")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def feed_feedback(app: App, bank: str, as_json: bool) -> None:
    """What partners' reviewers said about BANK's entries (confirmed or disputed matches), the
    most disputed first: the entries that misfire."""
    rows = _feeds(app).feedback(bank)
    if as_json:
        for row in rows:
            print_json(row.to_dict())
        return
    table = Table("entry", "signal", "value", "confirmed", "disputed")
    for r in rows:
        table.add_row(str(r.entry_id), e(r.signal_type), e(r.value), str(r.confirmed), str(r.disputed))
    out.print(table)
