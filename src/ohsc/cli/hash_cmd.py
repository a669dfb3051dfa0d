"""``ohsc hash``: signals of files, one record per file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, human_bytes, print_json
from ohsc.scanning.runner import Scanner, ScanOptions
from ohsc.signals.files import HashOptions
from ohsc.video.text import describe_hash


def print_signals(record: dict[str, Any]) -> None:
    kind = record.get("kind", "")
    fmt = f"/{record['format']}" if record.get("format") else ""
    out.print(f"[bold]{e(record['path'])}[/]  {human_bytes(record.get('size'))}  {kind}{fmt}")
    for name in ("md5", "sha1", "sha256"):
        if record.get(name):
            out.print(f"  {name:<7}{record[name]}")
    if record.get("pdq"):
        out.print(f"  {'pdq':<7}{record['pdq']}  (quality {record.get('pdq_quality')})")
        for name, value in (record.get("pdq_dihedral") or {}).items():
            if name != "original":
                out.print(f"    {name:<11}{value}")
    if record.get("vpdq"):
        out.print(f"  {'vpdq':<7}{e(describe_hash(record['vpdq'], record.get('video')))}")
    if record.get("error"):
        out.print(f"  [red]error[/]  {e(record['error'])}")


@click.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--exact", is_flag=True, help="Meta's reference pipeline, bit for bit (slower).")
@click.option("--dihedral", is_flag=True, help="Also print the 8 rotation/flip PDQ variants.")
@click.option("--workers", type=click.IntRange(1, 256), help="Hashing processes (default: all cores).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per file.")
@pass_app
def hash_(
    app: App, paths: tuple[Path, ...], exact: bool, dihedral: bool, workers: int | None, as_json: bool
) -> None:
    """Hash files: path, size, MD5, SHA-1, SHA-256, PDQ and its quality, vPDQ of videos
    (--json: every sampled frame), or an error.

    Folders are walked; archives are hashed as files (``ohsc scan`` looks inside them).
    Exit status 1 when a file could not be read or fully hashed (its record says why; the other
    files are still hashed).
    """
    settings = app.settings
    few_files = len(paths) <= 8 and all(p.is_file() for p in paths)
    options = ScanOptions(
        workers=workers or settings.effective_workers(),
        hash=HashOptions.from_settings(settings, mode="exact" if exact else None, dihedral=dihedral),
        expand_archives=False,
        match=False,
        inline=few_files and workers is None,  # a pool costs more than hashing a few files
        ids_as_given=True,
    )
    scanner = Scanner(settings, matcher=None)

    failed = 0

    def emit(record: dict[str, Any]) -> None:
        nonlocal failed
        failed += bool(record.get("error"))
        if as_json:
            print_json(record)
        else:
            print_signals(record)

    scanner.run(list(paths), options, emit)
    if failed:
        err.print(f"[red]{failed} file(s) could not be hashed[/]")
        raise SystemExit(1)
