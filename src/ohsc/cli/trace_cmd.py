"""``ohsc trace ...``: Trace an Object for investigators (objects, approval, tips inbox)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ohsc.cli.app import App, out, pass_app
from ohsc.cli.prevention_common import cli_actor
from ohsc.cli.render import e, print_json
from ohsc.media.blobs import open_blob_store
from ohsc.prevention.tips import TipService, TipStatus
from ohsc.prevention.trace import CATEGORIES, ObjectStatus, TraceObjects


def _objects(app: App) -> TraceObjects:
    return TraceObjects(app.store, open_blob_store(app.settings), app.settings)


def _tips(app: App) -> TipService:
    return TipService(app.store, app.settings)


@click.group("trace")
def trace() -> None:
    """Trace an Object: publish sanitised object pictures (two-person approval), triage tips."""


@trace.command("add")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--category", required=True, help=f"e.g. {', '.join(CATEGORIES[:4])}, ...")
@click.option("--question", required=True, help="What the public is asked (e.g. 'Where is this sold?').")
@pass_app
def add(app: App, image: Path, category: str, question: str) -> None:
    """Add an object picture as a draft (metadata is stripped, the picture encrypted at rest)."""
    obj = _objects(app).create(cli_actor(app), image.read_bytes(), category=category, question=question)
    out.print(
        f"object {obj.id} created as a draft ({obj.width}x{obj.height}); next: ohsc trace submit {obj.id}"
    )


@trace.command("list")
@click.option("--status", type=click.Choice([s.value for s in ObjectStatus]))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(app: App, status: str | None, as_json: bool) -> None:
    """List objects with their state and tip counts."""
    objects = _objects(app).list_objects(cli_actor(app), status=status)
    if as_json:
        for obj in objects:
            print_json(obj.to_dict())
        return
    table = Table("id", "status", "category", "question", "tips", "new", "prepared by", "approved by")
    for obj in objects:
        table.add_row(
            str(obj.id),
            obj.status,
            e(obj.category),
            e(obj.question[:60]),
            str(obj.tips),
            str(obj.new_tips),
            e(obj.updated_by),
            e(obj.approved_by or ""),
        )
    out.print(table)


@trace.command("show")
@click.argument("object_id", type=int)
@pass_app
def show(app: App, object_id: int) -> None:
    """One object as JSON."""
    print_json(_objects(app).get(cli_actor(app), object_id).to_dict())


@trace.command("edit")
@click.argument("object_id", type=int)
@click.option("--category")
@click.option("--question")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def edit(app: App, object_id: int, category: str | None, question: str | None, image: Path | None) -> None:
    """Change an object; a published one is taken down until approved again."""
    obj = _objects(app).update(
        cli_actor(app),
        object_id,
        category=category,
        question=question,
        image=image.read_bytes() if image else None,
    )
    out.print(f"object {obj.id} saved ({obj.status})")


@trace.command("image")
@click.argument("object_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--thumb", is_flag=True, help="The gallery thumbnail instead of the full picture.")
@pass_app
def image(app: App, object_id: int, output: Path, thumb: bool) -> None:
    """Write an object's sanitised picture to a file."""
    data, _mime = _objects(app).image(cli_actor(app), object_id, thumb=thumb)
    output.write_bytes(data)
    out.print(f"wrote {len(data)} bytes to {e(output)}")


def _transition(name: str, help_text: str) -> None:
    @trace.command(name, help=help_text)
    @click.argument("object_id", type=int)
    @pass_app
    def command(app: App, object_id: int) -> None:
        objects = _objects(app)
        obj = getattr(objects, name)(cli_actor(app), object_id)
        out.print(f"object {obj.id} is now {obj.status}")


_transition("submit", "Ask a second investigator to approve a draft.")
_transition("identify", "Mark a published object identified: the public sees a thank-you, tips stop.")
_transition("retire", "Take an object off the public gallery for good (tips are kept).")


@trace.command("approve")
@click.argument("object_id", type=int)
@click.option(
    "--sole-operator",
    is_flag=True,
    help="Approve your own object on an installation with at most one investigator or admin "
    "account (recorded in the audit log; refused once there is a second).",
)
@pass_app
def approve(app: App, object_id: int, sole_operator: bool) -> None:
    """Publish a pending object (not by whoever prepared it, unless --sole-operator)."""
    obj = _objects(app).approve(cli_actor(app), object_id, sole_operator=sole_operator)
    note = " (sole operator: recorded in the audit log)" if sole_operator else ""
    out.print(f"object {obj.id} is now {obj.status}{note}")


@trace.command("reject")
@click.argument("object_id", type=int)
@click.option("--reason", required=True, help="What must change before it can be published.")
@pass_app
def reject(app: App, object_id: int, reason: str) -> None:
    """Send a pending object back to draft."""
    obj = _objects(app).reject(cli_actor(app), object_id, reason)
    out.print(f"object {obj.id} is back to draft")


@trace.command("tips")
@click.option("--object", "object_id", type=int)
@click.option("--status", type=click.Choice([s.value for s in TipStatus]))
@click.option("--tag")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def tips(
    app: App, object_id: int | None, status: str | None, tag: str | None, limit: int, as_json: bool
) -> None:
    """The tips inbox, newest first."""
    found = _tips(app).list_tips(cli_actor(app), object_id=object_id, status=status, tag=tag, limit=limit)
    if as_json:
        for tip in found:
            print_json(tip.to_dict())
        return
    table = Table("tip", "object", "received", "status", "tags", "text")
    for tip in found:
        table.add_row(
            str(tip.id),
            str(tip.object_id),
            tip.received_at.strftime("%Y-%m-%d %H:%M"),
            tip.status,
            e(", ".join(tip.tags)),
            e(tip.body[:80].replace("\n", " ")),
        )
    out.print(table)


@trace.command("triage")
@click.argument("tip_id", type=int)
@click.option("--status", type=click.Choice([s.value for s in TipStatus]))
@click.option("--tag", "add_tags", multiple=True)
@click.option("--untag", "remove_tags", multiple=True)
@click.option("--note")
@pass_app
def triage(
    app: App,
    tip_id: int,
    status: str | None,
    add_tags: tuple[str, ...],
    remove_tags: tuple[str, ...],
    note: str | None,
) -> None:
    """Set a tip's status, tags or note."""
    tip = _tips(app).triage(
        cli_actor(app), tip_id, status=status, add_tags=add_tags, remove_tags=remove_tags, note=note
    )
    out.print(f"tip {tip.id}: {tip.status}; tags: {e(', '.join(tip.tags) or '-')}")


@trace.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--object", "object_id", type=int)
@click.option("--status", type=click.Choice([s.value for s in TipStatus]))
@pass_app
def export(app: App, output: Path, object_id: int | None, status: str | None) -> None:
    """Write tips as CSV, safe to open in a spreadsheet."""
    with output.open("w", encoding="utf-8", newline="") as fh:
        n = _tips(app).export_csv(cli_actor(app), fh, object_id=object_id, status=status)
    out.print(f"wrote {n} tips to {e(output)}")
