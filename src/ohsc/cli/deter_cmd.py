"""``ohsc deter ...``: deterrence checks, term lists, messages and counters."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json
from ohsc.errors import InvalidInputError, TermListError

if TYPE_CHECKING:
    from ohsc.prevention.deterrence import DeterrenceService


def deterrence_service(app: App, terms: tuple[Path, ...] = (), *, count: bool = False) -> DeterrenceService:
    """The service as the CLI uses it: lists from files or the lists directory, help services from
    the store (seeded on first use), no counting unless asked."""
    from ohsc.cli.prevention_common import cli_actor
    from ohsc.prevention.deterrence import DeterrenceService
    from ohsc.prevention.directory import HelpDirectory

    HelpDirectory(app.store).seed(cli_actor(app), only_new=True)
    return DeterrenceService.from_settings(app.settings, app.store, terms=terms, count=count)


@click.group("deter")
def deter() -> None:
    """Deterrence: check texts against operator term lists; messages and confidential help."""


@deter.command("check")
@click.argument("text", required=False)
@click.option(
    "--terms",
    "terms",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Term-list file(s) to use instead of the lists directory (OHSC_DETER_LISTS_DIR).",
)
@click.option("--locale", help="Language of the message (en, de, pt-br, ...); falls back to English.")
@click.option("--country", help="Two-letter country code: help services there come first.")
@click.option(
    "--context",
    type=click.Choice(["search", "username", "chat", "upload", "other"]),
    help="Where the text comes from (chooses the message wording).",
)
@click.option(
    "--batch",
    type=click.File("r", encoding="utf-8"),
    help="Check one text per line of this file ('-' for standard input); prints JSON Lines.",
)
@click.option("--explain", is_flag=True, help="Also name the listed entries that matched.")
@click.option("--count", is_flag=True, help="Count these checks in the aggregate statistics.")
@pass_app
def check(
    app: App,
    text: str | None,
    terms: tuple[Path, ...],
    locale: str | None,
    country: str | None,
    context: str | None,
    batch: Any,
    explain: bool,
    count: bool,
) -> None:
    """Check TEXT (or every line of --batch) and print the API's JSON answer."""
    if (text is None) == (batch is None):
        raise InvalidInputError("give either TEXT or --batch FILE")
    service = deterrence_service(app, terms, count=count)
    status = service.registry.status()
    for problem in status.errors:
        err.print(f"[yellow]term list problem:[/] {e(problem)}")
    lines = [text] if text is not None else (line.rstrip("\r\n") for line in batch)
    for line in lines:
        assert line is not None
        result = service.check(line, locale=locale, country=country, context=context).to_dict()
        if explain:
            compiled = service.registry.compiled()
            result["matched"] = [
                {"list": h.list_name, "kind": h.kind, "entry": h.describe(compiled.lists)}
                for h in service.hits(line)
            ]
        print_json(result)
    service.flush()


@deter.command("lists")
@click.option(
    "--terms",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Show these files instead of the lists directory.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def lists(app: App, terms: tuple[Path, ...], as_json: bool) -> None:
    """Show the term lists in force and any file that could not be used."""
    from ohsc.prevention.deterrence import lists_dir
    from ohsc.prevention.registry import TermListRegistry

    registry = TermListRegistry(files=terms) if terms else TermListRegistry(directory=lists_dir(app.settings))
    status = registry.reload()
    if as_json:
        print_json(status.to_dict())
        return
    if not terms:
        out.print(f"lists directory: {e(lists_dir(app.settings))}")
    if not status.lists:
        out.print("no term lists in force")
    else:
        table = Table("list", "language", "format", "terms", "phrases", "patterns", "exceptions", "file")
        for tl in status.lists:
            c = tl.counts
            table.add_row(
                e(tl.name) + ("" if tl.enabled else " (disabled)"),
                tl.language,
                tl.format,
                str(c["terms"]),
                str(c["phrases"]),
                str(c["patterns"]),
                str(c["exceptions"]),
                e(tl.source),
            )
        out.print(table)
    for problem in status.errors:
        err.print(f"[red]not used:[/] {e(problem)}")


@deter.command("validate")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def validate(files: tuple[Path, ...]) -> None:
    """Check term-list files; exit status 2 if any cannot be used."""
    from ohsc.prevention.termlists import load_file

    bad = 0
    for path in files:
        try:
            tl = load_file(path)
        except TermListError as exc:
            bad += 1
            err.print(f"[red]invalid:[/] {e(exc.message)}")
            continue
        c = tl.counts
        out.print(
            f"{e(path.name)}: list [bold]{e(tl.name)}[/] ({tl.language}, {tl.format}): {c['terms']} terms, "
            f"{c['phrases']} phrases, {c['patterns']} patterns, {c['exceptions']} exceptions"
        )
    if bad:
        raise TermListError(f"{bad} of {len(files)} file(s) cannot be used")


@deter.command("messages")
@click.option("--locale", help="Print the message for this locale (with fallbacks).")
@click.option("--context", type=click.Choice(["search", "username", "chat", "upload", "other"]))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def messages(app: App, locale: str | None, context: str | None, as_json: bool) -> None:
    """Show the message catalogue's locales and versions, or one message."""
    from ohsc.prevention.messages import MessageCatalogue

    catalogue = MessageCatalogue(app.settings.deter_messages_dir, app.settings.deter_default_locale)
    if locale is None and context is None:
        if as_json:
            print_json({"version": catalogue.version, "locales": catalogue.locales})
            return
        for tag, name in catalogue.locales.items():
            out.print(f"{tag}\t{e(name)}")
        out.print(f"catalogue version {catalogue.version}")
        return
    msg = catalogue.message(locale, context=context)
    if as_json:
        print_json(msg.to_dict())
        return
    out.print(f"[bold]{e(msg.title)}[/]  ({msg.id}, {msg.locale} v{msg.version})")
    out.print(e(msg.body))
    out.print(e(msg.help))


@deter.command("stats")
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def stats(app: App, days: int, since: Any, until: Any, as_json: bool) -> None:
    """Aggregate counters per day: checks, triggers, clicks; triggers per list and locale."""
    from ohsc.prevention.counters import PreventionStats

    st = PreventionStats(app.store)
    first: date | None = since.date() if since else None
    last: date | None = until.date() if until else None
    series = st.daily(("checks", "triggers", "clicks", "views", "tips"), since=first, until=last, days=days)
    by_list = st.breakdown("triggers", "list", since=first, until=last, days=days)
    by_locale = st.breakdown("triggers", "locale", since=first, until=last, days=days)
    if as_json:
        print_json({**series.to_dict(), "triggers_by_list": by_list, "triggers_by_locale": by_locale})
        return
    table = Table("day", *series.series)
    for i, day in enumerate(series.days):
        table.add_row(day.isoformat(), *(str(v[i]) for v in series.series.values()))
    out.print(table)
    if by_list:
        out.print("triggers by list: " + ", ".join(f"{e(k)} {v}" for k, v in by_list))
    if by_locale:
        out.print("triggers by locale: " + ", ".join(f"{e(k)} {v}" for k, v in by_locale))
