"""``ohsc scan``: a folder, zip or tar(.gz) against every bank, resumable."""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.progress import ScanProgress
from ohsc.cli.render import e, human_bytes
from ohsc.errors import InvalidInputError
from ohsc.scanning.journal import Journal, finished_ids
from ohsc.scanning.remote import is_url
from ohsc.scanning.runner import Scanner, ScanOptions, ScanSummary
from ohsc.signals.files import HashOptions
from ohsc.video.text import describe_match


def default_journal(app: App, root: Path | str) -> Path:
    if isinstance(root, str):  # a URL: s3://bucket/prefix
        key = hashlib.sha256(root.encode()).hexdigest()[:12]
        name = re.sub(r"[^A-Za-z0-9._-]", "_", root.rstrip("/").rsplit("/", 1)[-1]) or "scan"
        return app.settings.scans_dir / f"{name}-{key}.jsonl"
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    return app.settings.scans_dir / f"{root.name or 'scan'}-{key}.jsonl"


def scan_source(value: str) -> Path | str:
    """A local path (must exist) or an fsspec URL (s3://bucket/prefix, file:///shared/case)."""
    if is_url(value):
        return value
    path = Path(value)
    if not path.exists() and not path.is_symlink():
        raise click.BadParameter(f"Path '{value}' does not exist.", param_hint="'PATH'")
    return path


def print_summary(summary: ScanSummary, matched: list[dict[str, Any]], journal: Path | None) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("files", str(summary.files))
    table.add_row("matched", f"[bold red]{summary.matched}[/]" if summary.matched else "0")
    if summary.suppressed:
        table.add_row("suppressed by allowlist", str(summary.suppressed))
    table.add_row("errors", str(summary.errors))
    if summary.low_quality:
        table.add_row("PDQ quality too low", str(summary.low_quality))
    if summary.resumed_skipped:
        table.add_row("already done (resumed)", str(summary.resumed_skipped))
    table.add_row("kinds", ", ".join(f"{k} {v}" for k, v in sorted(summary.kinds.items())) or "-")
    table.add_row("read", human_bytes(summary.bytes))
    table.add_row("time", f"{summary.elapsed:.1f} s ({summary.rate:.0f} files/s)")
    if journal is not None:
        table.add_row("records", e(journal))
    err.print(table)
    if summary.error_codes:
        err.print("errors by reason: " + ", ".join(f"{k} {v}" for k, v in summary.error_codes.most_common()))
    for rec in matched[:20]:
        banks = sorted({m["bank"] for m in rec["matches"]})
        best = min(m["distance"] for m in rec["matches"])
        videos = [m["video"] for m in rec["matches"] if m.get("video")]
        how = f"video: {describe_match(videos[0])}" if videos else f"distance {best}"
        err.print(f"[red]match[/] {e(rec['path'])}  banks: {e(', '.join(banks))}  {e(how)}")
    if len(matched) > 20:
        err.print(f"... and {len(matched) - 20} more matched files in the records")


@click.command("scan")
@click.argument("source", metavar="PATH")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Write one JSON record per file here ('-' for stdout). Default: a file under OHSC_HOME/scans.",
)
@click.option("--workers", type=click.IntRange(1, 256), help="Hashing processes (default: all cores).")
@click.option("--resume", is_flag=True, help="Skip files already recorded by an interrupted scan.")
@click.option("--exact", is_flag=True, help="Exact PDQ (Meta's reference pipeline) instead of fast mode.")
@click.option("--dihedral", is_flag=True, help="Also match rotated and mirrored copies.")
@click.option("--no-archives", is_flag=True, help="Do not look inside zip and tar files.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Hash on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); "
    "default: OHSC_DASK_SCHEDULER. Records, --resume and the summary are the same as a local scan's.",
)
@pass_app
def scan(
    app: App,
    source: str,
    json_out: Path | None,
    workers: int | None,
    resume: bool,
    exact: bool,
    dihedral: bool,
    no_archives: bool,
    quiet: bool,
    cluster: str | None,
) -> None:
    """Scan a folder, a .zip or a .tar(.gz) for known material. Files are recognised by content.

    PATH may also be a URL that fsspec reads: s3://bucket/prefix (any S3-compatible store;
    AWS_ENDPOINT_URL names one that is not AWS), file:///shared/case on shared storage.

    Exit status 0 when the scan completed (matches are data, not failures).
    """
    settings = app.settings
    path = scan_source(source)
    to_stdout = json_out is not None and str(json_out) == "-"
    journal_path = None if to_stdout else (json_out or default_journal(app, path))
    if resume and journal_path is None:
        raise InvalidInputError("--resume needs a records file: use --json FILE")
    skip = finished_ids(journal_path) if (resume and journal_path is not None) else set()
    address = cluster or settings.dask_scheduler
    with contextlib.ExitStack() as stack:
        pool = None
        if address:  # connect first: an unreachable scheduler fails before anything is written
            from ohsc.cluster.pool import cluster_pool

            pool = stack.enter_context(
                cluster_pool(
                    address,
                    batch_items=settings.cluster_batch_files,
                    connect_seconds=settings.cluster_connect_seconds,
                )
            )
        matcher = app.matcher()
        options = ScanOptions(
            workers=pool.threads() if pool is not None else (workers or settings.effective_workers()),
            hash=HashOptions.from_settings(settings, mode="exact" if exact else None, dihedral=dihedral),
            expand_archives=not no_archives,
            skip=frozenset(skip),
            pool=pool,
        )
        journal = Journal(journal_path, append=resume)
        matched: list[dict[str, Any]] = []

        def on_record(record: dict[str, Any]) -> None:
            journal.write(record)
            if record.get("matched"):
                matched.append(record)

        try:
            name = path if isinstance(path, str) else (path.name or path)
            with ScanProgress(f"scanning {e(str(name))}", enabled=not quiet) as progress:
                summary = Scanner(settings, matcher, actor=app.actor).run(path, options, on_record, progress)
        finally:
            journal.close()
    print_summary(summary, matched, journal_path)
    if summary.interrupted:
        err.print("[yellow]interrupted[/]: run the same command with --resume to finish")
        raise SystemExit(130)
    if not to_stdout:
        out.print(f"{summary.files} files, {summary.matched} matched, {summary.errors} errors")
