"""``ohsc bank ...``: create, list, fill, import, export, retract."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from ohsc.banks.formats import FORMATS, format_for
from ohsc.banks.model import ImportReport
from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json
from ohsc.errors import InvalidInputError


def _format_for(path: Path, given: str | None) -> str:
    return given or format_for(path.name)


def _print_report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                **report.counts(),
                "errors": [{"line": x.line, "message": x.message} for x in report.errors],
                "notes": list(report.notes),
            }
        )
        return
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in report.counts().items() if v]
    out.print(", ".join(parts) or "nothing to do")
    for note in report.notes:
        err.print(f"[yellow]note:[/] {e(note)}")
    for error in report.errors[:50]:
        err.print(f"[red]invalid:[/] {e(error)}")
    if len(report.errors) > 50:
        err.print(f"[red]... and {len(report.errors) - 50} more invalid rows[/]")


@click.group("bank")
def bank() -> None:
    """Hash banks: named lists of hashes with categories, thresholds and retractions."""


@bank.command("create")
@click.argument("name")
@click.option("--threshold", type=click.IntRange(0, 256), help="PDQ distance for this bank (default 31).")
@click.option("--allowlist", is_flag=True, help="Matches in this bank suppress matches from other banks.")
@click.option("--description", default="", help="What the bank holds and where it comes from.")
@click.option(
    "--robust",
    is_flag=True,
    help="Robust matching: pictures added keep view hashes and local features, so crops, borders, "
    "caption bars, small rotations and mirror images are found too (docs/signals.md).",
)
@pass_app
def create(
    app: App, name: str, threshold: int | None, allowlist: bool, description: str, robust: bool
) -> None:
    """Create a bank."""
    b = app.banks.create_bank(
        name, threshold=threshold, allowlist=allowlist, description=description, robust=robust
    )
    kind = "allowlist bank" if b.is_allowlist else "bank"
    mode = ", robust matching" if b.robust else ""
    out.print(f"created {kind} [bold]{e(b.name)}[/] (id {b.id}, threshold {b.threshold}{mode})")


@bank.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per bank.")
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List banks with their entry counts."""
    banks = app.banks.list_banks()
    if as_json:
        for b in banks:
            print_json(b.model_dump(mode="json"))
        return
    if not banks:
        out.print("no banks yet: ohsc bank create NAME")
        return
    table = Table("id", "name", "kind", "threshold", "entries", "retracted", "enabled")
    for b in banks:
        table.add_row(
            str(b.id),
            e(b.name),
            "allowlist" if b.is_allowlist else "match",
            f"{b.threshold}{' (default)' if b.threshold_is_default else ''}",
            str(b.active_entries),
            str(b.retracted_entries),
            "yes" if b.enabled else "no",
        )
    out.print(table)


@bank.command("show")
@click.argument("name")
@click.option("--entries", "limit", type=int, default=20, show_default=True, help="How many entries to list.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: App, name: str, limit: int, as_json: bool) -> None:
    """Show a bank and its first entries."""
    b = app.banks.get_bank(name)
    entries = []
    for i, entry in enumerate(app.banks.iter_entries(b.id, include_retracted=True)):
        if i >= limit:
            break
        entries.append(entry)
    if as_json:
        print_json({**b.model_dump(mode="json"), "entries": [x.model_dump(mode="json") for x in entries]})
        return
    out.print(
        f"[bold]{e(b.name)}[/] id {b.id}, {'allowlist' if b.is_allowlist else 'match'} bank, threshold {b.threshold}, "
        f"{b.active_entries} entries, {b.retracted_entries} retracted"
    )
    if b.description:
        out.print(e(b.description))
    table = Table("id", "type", "value", "category", "sources", "state")
    for x in entries:
        state = f"retracted: {x.retraction_reason}" if x.retracted else "active"
        listed = [f"{r.source}:{r.external_id}" if r.external_id else r.source for r in x.live_sources]
        sources = ", ".join(listed) or (f"{x.source}:{x.external_id}" if x.external_id else x.source)
        table.add_row(str(x.id), x.signal_type, x.value, e(x.category or ""), e(sources), e(state))
    out.print(table)


@bank.command("update")
@click.argument("name")
@click.option("--rename", help="New name.")
@click.option("--threshold", type=click.IntRange(0, 256))
@click.option("--default-threshold", is_flag=True, help="Go back to the default threshold.")
@click.option("--allowlist/--no-allowlist", default=None)
@click.option("--enable/--disable", default=None)
@click.option("--description")
@click.option(
    "--robust/--no-robust",
    default=None,
    help="Robust matching for pictures added from now on (entries already there stay hash-only).",
)
@pass_app
def update(
    app: App,
    name: str,
    rename: str | None,
    threshold: int | None,
    default_threshold: bool,
    allowlist: bool | None,
    enable: bool | None,
    description: str | None,
    robust: bool | None,
) -> None:
    """Change a bank's name, threshold, kind or state."""
    b = app.banks.update_bank(
        name,
        name=rename,
        threshold=threshold,
        clear_threshold=default_threshold,
        allowlist=allowlist,
        enabled=enable,
        description=description,
        robust=robust,
    )
    mode = ", robust matching" if b.robust else ""
    out.print(
        f"updated [bold]{e(b.name)}[/]: threshold {b.threshold}, {'allowlist' if b.is_allowlist else 'match'}{mode}"
    )
    if robust:
        out.print(
            "  pictures added from now on are described for robust matching; entries already in the bank "
            "stay hash-only (plain PDQ) until their pictures are added again"
        )


@bank.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_app
def delete(app: App, name: str, yes: bool) -> None:
    """Delete a bank and all its entries."""
    b = app.banks.get_bank(name)
    if not yes:
        click.confirm(
            f"delete bank {b.name!r} and its {b.active_entries + b.retracted_entries} entries?", abort=True
        )
    app.banks.delete_bank(b.id)
    out.print(f"deleted bank {e(b.name)}")


@bank.command("add")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--category", help="Category for the new entries.")
@click.option("--label", "labels", multiple=True, help="Label (repeatable).")
@click.option("--note", help="Free-text note for the entries.")
@click.option("--external-id", help="External reference for the entries.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def add(
    app: App,
    name: str,
    paths: tuple[Path, ...],
    category: str | None,
    labels: tuple[str, ...],
    note: str | None,
    external_id: str | None,
    as_json: bool,
) -> None:
    """Hash media files (MD5, SHA-1, SHA-256, PDQ; vPDQ of videos) into a bank. Folders are walked.

    A file that is not a picture or video still has its digests added (with a warning). Exit
    status 1 when a file could not be read (the others are added).
    """
    from ohsc.scanning.walker import walk

    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for p in paths:
        for item in walk(p):
            if item.path is not None and item.error is None:
                files.append(item.path)
            else:
                problems.append((item.id, item.error or "unreadable"))
    from ohsc.content.media import open_blob_store
    from ohsc.review.references import add_bank_media

    added = add_bank_media(
        app.store,
        app.settings,
        lambda: open_blob_store(app.settings),
        app.actor,
        name,
        files,
        category=category,
        labels=labels,
        note=note,
        external_id=external_id,
    )
    report = added.report
    skipped = [*problems, *((str(p), r) for p, r in added.failed)]
    for path, reason in skipped:
        err.print(f"[red]skipped:[/] {e(path)}: {e(reason)}")
    _print_report(report, as_json)
    if skipped:
        raise SystemExit(1)


@bank.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), help="File format (default: from the extension)."
)
@click.option(
    "--source",
    default="import",
    show_default=True,
    help="Name the list's provider (e.g. hotline-x): its withdrawals then remove only its own records.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def import_(app: App, name: str, file: Path, fmt: str | None, source: str, as_json: bool) -> None:
    """Import a hash list. Bad rows are reported with line numbers; good rows load.

    Exit status 2 when the file has rows but none of them is valid, or when the file goes past
    a reading limit (OHSC_IMPORT_MAX_DEPTH, OHSC_IMPORT_MAX_STRING_BYTES); batches committed
    before such a stop stay, and `ohsc bank imports` shows the run as failed.
    """
    report = app.banks.import_file(name, file, _format_for(file, fmt), source=source)
    _print_report(report, as_json)
    loaded = report.added + report.updated + report.unchanged + report.retracted + report.kept_retracted
    if report.errors and not loaded and not report.unknown_withdrawals:
        err.print(f"[red]error:[/] no valid row in {e(file.name)}: nothing imported")
        raise SystemExit(InvalidInputError.exit_code)


@bank.command("export")
@click.argument("name")
@click.option(
    "--format", "fmt", type=click.Choice(sorted(n for n, f in FORMATS.items() if f.can_write)), default="csv"
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@click.option("--include-retracted", is_flag=True, help="Also write retracted entries, marked as withdrawn.")
@pass_app
def export(app: App, name: str, fmt: str, output: Path | None, include_retracted: bool) -> None:
    """Export a bank's entries."""
    if output is None:
        n = app.banks.export(name, sys.stdout.buffer, fmt, include_retracted=include_retracted)
        sys.stdout.buffer.flush()
    else:
        tmp = output.with_name(f".{output.name}.partial")
        with tmp.open("wb") as fh:
            n = app.banks.export(name, fh, fmt, include_retracted=include_retracted)
        tmp.replace(output)
    err.print(f"exported {n} entries")


@bank.command("retract")
@click.argument("name")
@click.argument("entry")
@click.option("--reason", required=True, help="Why it is withdrawn (recorded in the audit log).")
@pass_app
def retract(app: App, name: str, entry: str, reason: str) -> None:
    """Withdraw entries: ENTRY is an entry id, an external id (all its hashes) or a hash."""
    entries = app.banks.retract(name, entry, reason)
    for x in entries:
        out.print(f"retracted entry {x.id} ({x.signal_type} {x.value})")


@bank.command("restore")
@click.argument("name")
@click.argument("entry")
@click.option("--reason", help="Why it comes back (recorded in the audit log).")
@pass_app
def restore(app: App, name: str, entry: str, reason: str | None) -> None:
    """Bring back retracted entries."""
    for x in app.banks.restore(name, entry, reason):
        out.print(f"restored entry {x.id} ({x.signal_type} {x.value})")


@bank.command("imports")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@pass_app
def imports(app: App, name: str | None, limit: int, as_json: bool) -> None:
    """List the latest imports (of one bank, or of all): running, finished or failed."""
    runs = app.banks.import_runs(name, limit=limit)
    if as_json:
        for run in runs:
            print_json(run.model_dump(mode="json"))
        return
    if not runs:
        out.print("no imports")
        return
    table = Table("run", "bank", "file", "format", "status", "started", "counts")
    for run in runs:
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in run.counts.items() if v and k != "failed")
        status = f"[red]{run.status}[/]" if run.status == "failed" else run.status
        table.add_row(
            str(run.id),
            e(run.bank),
            e(run.source_name),
            run.format,
            status,
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            e(counts),
        )
    out.print(table)
