"""``ohsc case``: triage cases of seized collections (create, ingest, stats, export)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json


def _service(app: App) -> Any:
    from ohsc.cases.service import CaseService

    return CaseService(app.store, app.settings, actor=app.actor)


@click.group("case")
def case() -> None:
    """Triage cases: ingest a seized collection, stack duplicates, categorise, export VICS."""


@case.command("create")
@click.argument("name")
@click.option("--scheme", type=click.Choice(["us", "uk"]), default="us", show_default=True,
              help="Categories: Project VIC US (0-4) or UK CAID (A, B, C, non-indecent).")  # fmt: skip
@click.option("--agreement", type=click.IntRange(1, 5), default=1, show_default=True,
              help="How many analysts must choose the same category before it is final.")  # fmt: skip
@click.option("--stack-threshold", type=click.IntRange(0, 128), help="PDQ distance of near-duplicates.")
@click.option("--series-seconds", type=click.IntRange(1), default=3600, show_default=True,
              help="Pictures of one camera and folder this close in time form a series.")  # fmt: skip
@click.option("--description", default="")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def create(
    app: App,
    name: str,
    scheme: str,
    agreement: int,
    stack_threshold: int | None,
    series_seconds: int,
    description: str,
    as_json: bool,
) -> None:
    """Create a case."""
    made = _service(app).create(
        name,
        scheme=scheme,
        agreement=agreement,
        stack_threshold=stack_threshold,
        series_seconds=series_seconds,
        description=description,
    )
    if as_json:
        print_json(made.to_dict())
    else:
        out.print(
            f"created case {e(made.name)} (#{made.id}, {made.scheme} categories, agreement {made.agreement})"
        )


@case.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per case.")
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List cases."""
    cases = _service(app).list_cases()
    if as_json:
        for c in cases:
            print_json(c.to_dict())
        return
    table = Table("id", "name", "scheme", "agreement", "created")
    for c in cases:
        table.add_row(
            str(c.id), e(c.name), c.scheme, str(c.agreement), c.created_at.strftime("%Y-%m-%d %H:%M")
        )
    out.print(table)


@case.command("ingest")
@click.argument("name")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--workers", type=click.IntRange(0, 256), help="Hashing processes (default: all cores; 0: none)."
)
@click.option("--no-match", is_flag=True, help="Do not match against the banks (nothing is known).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="One JSON summary per source.")
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Hash on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); "
    "default: OHSC_DASK_SCHEDULER. The case gets the same items as from a local ingest.",
)
@pass_app
def ingest(
    app: App,
    name: str,
    sources: tuple[Path, ...],
    workers: int | None,
    no_match: bool,
    quiet: bool,
    as_json: bool,
    cluster: str | None,
) -> None:
    """Ingest folders, zip and tar archives, disk images or VICS exports into a case.

    Files are recognised by content and never modified. Run the same command again to resume an
    interrupted ingest: what was done is kept, nothing is counted twice.
    """
    service = _service(app)
    service.get(name)  # a missing case fails before the banks load
    address = cluster or app.settings.dask_scheduler
    with contextlib.ExitStack() as stack:
        pool = None
        if address:  # connect first: an unreachable scheduler fails before anything is written
            from ohsc.cluster.pool import cluster_pool

            hint = "what was done is kept: run the same ingest again to finish it"
            pool = stack.enter_context(
                cluster_pool(
                    address,
                    batch_items=app.settings.cluster_batch_files,
                    connect_seconds=app.settings.cluster_connect_seconds,
                    lost_hint=hint,
                )
            )
            workers = pool.threads()
        matcher = None if no_match else app.matcher()
        for source in sources:
            _ingest_one(service, name, source, matcher, workers, pool, quiet, as_json)


def _ingest_one(
    service: Any,
    name: str,
    source: Path,
    matcher: Any,
    workers: int | None,
    pool: Any,
    quiet: bool,
    as_json: bool,
) -> None:
    from ohsc.cli.progress import ScanProgress

    with ScanProgress(f"ingesting {source.name or source}", enabled=not quiet and not as_json) as progress:
        summary = service.ingest(name, source, matcher=matcher, workers=workers, progress=progress, pool=pool)
    if as_json:
        print_json(summary.to_dict())
        return
    err.print(
        f"{e(source)} ({summary.kind}): {summary.files} files, {summary.new_items} new items, "
        f"{summary.duplicates} duplicates, {summary.known} known, {summary.errors} errors"
        + (f", {summary.resumed_skipped} already done" if summary.resumed_skipped else "")
        + f" in {summary.elapsed:.1f} s"
    )
    for note in summary.notes:
        err.print(f"note: {e(note)}")
    if summary.interrupted:
        raise SystemExit(130)


@case.command("stats")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def stats(app: App, name: str, as_json: bool) -> None:
    """Items, unique contents, stacks, series, known and unknown, categories."""
    st = _service(app).stats(name)
    if as_json:
        print_json(st.to_dict())
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    for label, value in (
        ("case", e(st.case)),
        ("scheme", st.scheme),
        ("sources", st.sources),
        ("files", st.files),
        ("unique items", st.unique),
        ("stacks", f"{st.stacks} ({st.multi_stacks} with near-duplicates)"),
        ("series", st.series),
        ("known", st.known),
        ("unknown", st.unknown),
        ("categorised", st.categorised),
        ("disputed", st.disputed),
        ("errors", st.errors),
    ):
        table.add_row(label, str(value))
    for cat, n in sorted(st.by_category.items()):
        table.add_row(f"  {e(cat)}", str(n))
    out.print(table)


@case.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["vics"]), default="vics", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), required=True
)
@click.option("--all", "everything", is_flag=True, help="Uncategorised items too (no Category).")
@pass_app
def export(app: App, name: str, fmt: str, output: Path, everything: bool) -> None:
    """Export the case's categorised items as Project VIC VICS 2.0 JSON."""
    import sys

    service = _service(app)
    if str(output) == "-":
        n = service.export_vics(name, sys.stdout.buffer, categorised_only=not everything)
    else:
        with output.open("wb") as fh:
            n = service.export_vics(name, fh, categorised_only=not everything)
    err.print(f"wrote {n} media records ({fmt}) to {e(output)}")


@case.command("push")
@click.argument("name")
@click.option("--bank", required=True, help="The bank to add the confirmed categories to.")
@click.option(
    "--include-known", is_flag=True, help="Known (bank or VICS) categories too, not only agreed ones."
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def push(app: App, name: str, bank: str, include_known: bool, as_json: bool) -> None:
    """Add the case's confirmed categories (MD5, SHA-1, SHA-256, PDQ) to a bank."""
    result = _service(app).push_to_bank(name, bank, include_known=include_known)
    if as_json:
        print_json(result)
    else:
        err.print(f"{result['items']} items: {result['added']} entries added to bank {e(bank)}")


@case.command("report")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_app
def report(app: App, name: str, fmt: str, output: Path) -> None:
    """The case report: counts, hash lists per category, who categorised what (no pictures)."""
    data = _service(app).report(name, fmt)
    output.write_bytes(data)
    err.print(f"wrote the {fmt} report of case {e(name)} to {e(output)}")
