"""``ohsc matches``: the match log (what content sent to the service matched), newest first."""

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
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """The match log: content sent to the service that matched a bank, newest first.

    The same query as GET /v1/matches (one library call, ohsc.content.matchlog)."""
    from ohsc.content.matchlog import MatchQuery, list_matches

    query = MatchQuery(
        bank=bank,
        verdict=verdict,
        kind=kind,
        category=category,
        entry_id=entry_id,
        content_id=content_id,
        since=since,
        until=until,
    )
    rows = list_matches(app.store, query, before=before, limit=limit)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        out.print("no matches")
        return
    table = Table("match", "time", "content", "bank", "entry", "signal", "distance", "verdict")
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
        )
    out.print(table)
