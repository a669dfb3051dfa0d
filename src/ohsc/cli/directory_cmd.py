"""``ohsc directory ...``: the public help directory (services, countries, languages, audiences)."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from ohsc.cli.app import App, out, pass_app
from ohsc.cli.prevention_common import cli_actor
from ohsc.cli.render import e, print_json
from ohsc.prevention.directory import HelpDirectory, HelpService
from ohsc.prevention.service_fields import AUDIENCES


def _print_services(services: list[HelpService], as_json: bool) -> None:
    if as_json:
        for svc in services:
            print_json(svc.to_dict())
        return
    if not services:
        out.print("no services match")
        return
    table = Table("id", "name", "countries", "languages", "for", "phone", "web")
    for svc in services:
        table.add_row(
            str(svc.id) + ("" if svc.enabled else " (off)"),
            e(svc.name),
            ", ".join(svc.countries),
            ", ".join(svc.languages),
            ", ".join(svc.audiences),
            e(svc.phone),
            e(svc.url or svc.chat_url),
        )
    out.print(table)


_FIELD_OPTIONS = [
    click.option("--name"),
    click.option("--organisation"),
    click.option("--description"),
    click.option("--country", "countries", multiple=True, help="ISO code, or * for everywhere (repeat)."),
    click.option("--language", "languages", multiple=True, help="Language tag (repeat)."),
    click.option("--audience", "audiences", multiple=True, type=click.Choice(AUDIENCES), help="Repeat."),
    click.option("--phone"),
    click.option("--phone-note"),
    click.option("--url"),
    click.option("--chat-url"),
    click.option("--email"),
    click.option("--hours"),
    click.option("--source", "sources", multiple=True, help="Public page the details were checked on."),
    click.option("--priority", type=click.IntRange(0, 1000)),
    click.option("--verified-on", help="Date the details were last checked (YYYY-MM-DD)."),
]


def _field_options(fn: Any) -> Any:
    for option in reversed(_FIELD_OPTIONS):
        fn = option(fn)
    return fn


def _fields(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items() if v not in (None, ())}


@click.group("directory")
def directory() -> None:
    """The help directory shown with deterrence messages and on the public help page."""


@directory.command("list")
@click.option("--country", help="Two-letter code: the country's services and international ones.")
@click.option("--language", help="Only services in this language.")
@click.option("--audience", type=click.Choice(AUDIENCES))
@click.option("--search", "query", help="Words in the name or description.")
@click.option("--all", "include_disabled", is_flag=True, help="Include disabled services.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per service.")
@pass_app
def list_(
    app: App,
    country: str | None,
    language: str | None,
    audience: str | None,
    query: str | None,
    include_disabled: bool,
    as_json: bool,
) -> None:
    """List services (seeded with well-known public services on first use)."""
    d = HelpDirectory(app.store)
    d.seed(cli_actor(app), only_new=True)
    _print_services(
        d.search(
            country=country,
            language=language,
            audience=audience,
            query=query,
            include_disabled=include_disabled,
        ),
        as_json,
    )


@directory.command("show")
@click.argument("service_id", type=int)
@pass_app
def show(app: App, service_id: int) -> None:
    """Show one service as JSON."""
    print_json(HelpDirectory(app.store).get(service_id).to_dict())


@directory.command("add")
@_field_options
@pass_app
def add(app: App, /, **kwargs: Any) -> None:
    """Add a service (needs at least --name, --country, --language and --audience)."""
    svc = HelpDirectory(app.store).add(cli_actor(app), _fields(kwargs))
    out.print(f"added service {svc.id}: {e(svc.name)}")


@directory.command("edit")
@click.argument("service_id", type=int)
@_field_options
@click.option("--enable/--disable", "enabled", default=None)
@pass_app
def edit(app: App, /, service_id: int, **kwargs: Any) -> None:
    """Change a service's fields (repeated options replace the whole list)."""
    svc = HelpDirectory(app.store).update(cli_actor(app), service_id, _fields(kwargs))
    out.print(f"service {svc.id} ({e(svc.name)}) saved")


@directory.command("remove")
@click.argument("service_id", type=int)
@pass_app
def remove(app: App, service_id: int) -> None:
    """Delete a service (use edit --disable to hide it instead)."""
    HelpDirectory(app.store).remove(cli_actor(app), service_id)
    out.print(f"service {service_id} removed")


@directory.command("seed")
@pass_app
def seed(app: App) -> None:
    """Add the shipped public services that are missing (never overwrites edits)."""
    report = HelpDirectory(app.store).seed(cli_actor(app))
    out.print(f"seed version {report.version}: {len(report.added)} added, {len(report.kept)} already present")
