"""``ohsc demo``: the whole flow on generated benign images, in under a minute."""

from __future__ import annotations

from pathlib import Path

import click

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to put the demo (default: OHSC_HOME/demo). Its store is separate from yours.",
)
@click.option("--workers", type=click.IntRange(1, 256), help="Hashing processes.")
@pass_app
def demo(app: App, directory: Path | None, workers: int | None) -> None:
    """Build a demo bank from generated images and scan a folder of altered copies and decoys."""
    from ohsc.cli.progress import ScanProgress
    from ohsc.demo import run_demo

    target = directory or app.settings.home / "demo"
    run_demo(target, out=out, err=err, workers=workers, progress=ScanProgress)
    out.print(f"\ndemo data kept in {e(target)}; delete it when you are done.")
