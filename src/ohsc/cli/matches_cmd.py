"""``ohsc matches``: the match log (what content sent to the service matched), newest first;
``ohsc transparency``: the transparency figures of a period. The same calls as ``/matches`` and
``/transparency`` (``ohsc.figures``)."""

from __future__ import annotations

from datetime import datetime

import click
from rich.table import Table

from ohsc.cli.app import App, out, pass_app
from ohsc.cli.render import e, print_json


@click.command("matches")
@click.option("--bank", help="Only this bank (its name).")
@click.option("--verdict", type=click.Choice(["block", "review", "allow"]), help="Only this verdict.")
@click.option(
    "--kind",
    type=click.Choice(["match", "allowlist", "suppressed"]),
    default="match",
    show_default=True,
    help="Matches, allowlist hits or suppressed matches.",
)
@click.option("--category", help="Only this category.")
@click.option("--entry", "entry_id", type=int, help="Only matches of this bank entry id.")
@click.option("--content", "content_id", type=int, help="Only matches of this content record id.")
@click.option(
    "--content-id", "content_ref", help="Only matches of content with this id of yours (content_id)."
)
@click.option(
    "--hash", "hash_value", help="Only matches of the bank entry (or entries) with this hash value."
)
@click.option("--since", type=click.DateTime(), help="From this time (UTC), inclusive.")
@click.option("--until", type=click.DateTime(), help="Before this time (UTC).")
@click.option("--before", type=int, help="Only match ids below this one (to page back).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array, as GET /v1/matches gives its items.")
@pass_app
def matches(
    app: App,
    bank: str | None,
    verdict: str | None,
    kind: str,
    category: str | None,
    entry_id: int | None,
    content_id: int | None,
    content_ref: str | None,
    hash_value: str | None,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """The match log: content sent to the service that matched a bank, newest first.

    The same query as /matches in the web console (ohsc.figures.matches.match_log); each row
    names the review item its content went to."""
    from ohsc.content.matchlog import MatchQuery
    from ohsc.figures.matches import match_log

    query = MatchQuery(
        bank=bank,
        verdict=verdict,
        kind=kind,
        category=category,
        entry_id=entry_id,
        content_id=content_id,
        content_ref=content_ref,
        hash=hash_value,
        since=since,
        until=until,
    )
    rows = match_log(app.store, query, before=before, limit=limit)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        out.print("no matches")
        return
    table = Table("match", "time", "content", "bank", "entry", "signal", "distance", "verdict", "review")
    for r in rows:
        table.add_row(
            str(r.match_id),
            e(r.created_at.isoformat()[:19]),
            str(r.content_id),
            e(r.bank),
            e(r.external_id or r.entry_id),
            e(r.signal_type),
            str(r.distance),
            e(r.verdict),
            f"{r.review_item_id} ({r.review_status})" if r.review_item_id else "-",
        )
    out.print(table)


@click.command("transparency")
@click.option("--from", "since", type=click.DateTime(), help="Period start (UTC), inclusive.")
@click.option("--to", "until", type=click.DateTime(), help="Period end (UTC), not included.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@pass_app
def transparency(app: App, since: datetime | None, until: datetime | None, fmt: str) -> None:
    """Transparency figures of a period: matches by bank and category, decisions, reports per
    authority, takedowns, median times, with each figure's definition (JSON). The same call as
    /transparency (ohsc.figures.transparency); reading them is an audit event."""
    import json
    from datetime import UTC

    from ohsc.figures.transparency import transparency_report

    figures = transparency_report(
        app.store,
        app.actor,
        since=since.replace(tzinfo=UTC) if since else None,
        until=until.replace(tzinfo=UTC) if until else None,
    )
    out.file.write(figures.to_csv() if fmt == "csv" else json.dumps(figures.to_dict(), indent=2) + "\n")
    out.file.flush()
