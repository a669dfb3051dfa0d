"""``ohsc crawl ...``: report URLs, crawl them for known material, see the frontier."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import click
from rich.table import Table

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json

if TYPE_CHECKING:
    from ohsc.removal.frontier import Frontier


def _frontier(app: App) -> Frontier:
    from ohsc.removal.frontier import Frontier

    return Frontier(app.store, app.settings, actor=app.actor)


@click.group("crawl")
def crawl() -> None:
    """Crawl reported URLs for known material (internal addresses need OHSC_CRAWL_ALLOW_PRIVATE_TARGETS)."""


@crawl.command("add")
@click.argument("urls", nargs=-1, required=True)
@click.option("--note", default="", help="Why these URLs (kept with their source).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def crawl_add(app: App, urls: tuple[str, ...], note: str, as_json: bool) -> None:
    """Queue URLs for crawling; a URL already known merges and gains you as a source."""
    added = _frontier(app).add(list(urls), source="analyst", note=note)
    for a in added:
        if as_json:
            print_json(a.model_dump(mode="json"))
        else:
            out.print(f"{a.id}\t{'queued' if a.new else 'merged'}\t{e(a.url)}")


@crawl.command("list")
@click.option("--state", type=click.Choice(["queued", "done", "failed"]))
@click.option("--kind", type=click.Choice(["page", "media"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def crawl_list(app: App, state: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """URLs in the frontier, oldest first."""
    rows = _frontier(app).list_urls(state=state, kind=kind, limit=limit)
    if as_json:
        for r in rows:
            print_json(r.model_dump(mode="json"))
        return
    table = Table("id", "kind", "depth", "state", "status", "media", "matched", "url")
    for r in rows:
        table.add_row(
            str(r.id),
            r.kind,
            str(r.depth),
            r.state,
            str(r.http_status or r.error or ""),
            str(r.media_found),
            "yes" if r.matched else "",
            e(r.url),
        )
    out.print(table)


@crawl.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def crawl_status(app: App, as_json: bool) -> None:
    """How many URLs wait, were crawled, or failed."""
    counts = _frontier(app).counts()
    if as_json:
        print_json(counts)
        return
    for key in sorted(counts):
        out.print(f"{key}\t{counts[key]}")


@crawl.command("run")
@click.option("--until-idle", is_flag=True, help="Stop when the frontier is empty (default: one batch).")
@click.option("--max-urls", type=click.IntRange(1), default=None, help="Stop after this many URLs.")
@click.option("--no-notify", is_flag=True, help="Send no notices (ohsc takedown notify sends them later).")
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=None,
    help="Crawler processes sharing the frontier (default OHSC_CRAWL_PROCESSES).",
)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Hash fetched media on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786), "
    "in batched tasks; default: OHSC_DASK_SCHEDULER. Fetching and matching stay here.",
)
@pass_app
def crawl_run(
    app: App,
    until_idle: bool,
    max_urls: int | None,
    no_notify: bool,
    processes: int | None,
    as_json: bool,
    cluster: str | None,
) -> None:
    """Crawl: fetch pages and media, hash media in memory and match them; matches become takedowns.

    Unmatched media are never written anywhere. A crawl killed at any point resumes where it was.
    """
    from ohsc.removal.processes import crawl_in_processes

    address = cluster or app.settings.dask_scheduler
    count = processes or app.settings.crawl_processes
    if address and count > 1:
        raise click.UsageError("--cluster hashes for one crawl process: use --processes 1 with it")
    with contextlib.ExitStack() as stack:
        hash_pool = None
        if address:  # connect first: an unreachable scheduler fails before any URL is taken
            from ohsc.cluster.pool import cluster_pool

            hint = "the crawl resumes where it was when run again (URLs it held are taken again)"
            pool = stack.enter_context(
                cluster_pool(
                    address,
                    batch_items=app.settings.cluster_batch_files,
                    connect_seconds=app.settings.cluster_connect_seconds,
                    lost_hint=hint,
                )
            )
            hash_pool = pool.executor
        stats = crawl_in_processes(
            app.store,
            app.settings,
            count,
            until_idle=until_idle,
            max_urls=max_urls,
            actor=app.actor,
            hash_pool=hash_pool,
        )
    notices = 0
    if not no_notify:
        from ohsc.removal.notices import NoticeService

        notices = NoticeService(app.store, app.settings, actor=app.actor).notify_pending()
    if as_json:
        print_json({**stats.to_dict(), "notices": notices})
        return
    err.print(
        f"pages {stats.pages}, media {stats.media}, matched {stats.matched}, "
        f"failed {stats.failed}, takedowns {stats.takedowns}, notices {notices}"
    )
