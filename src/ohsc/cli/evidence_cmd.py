"""``ohsc evidence ...``: preserved content and metadata, legal holds, purging. Every access is audited."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ohsc.cli.app import App, out, pass_app
from ohsc.cli.render import e, human_bytes, print_json
from ohsc.cli.report_cmd import actor_of
from ohsc.errors import InvalidInputError
from ohsc.evidence.model import EvidenceItem
from ohsc.evidence.service import EvidenceService
from ohsc.store.types import parse_when, utcnow


def evidence_of(app: App) -> EvidenceService:
    return EvidenceService(app.store, app.settings, actor_of(app))


def _table(items: list[EvidenceItem]) -> Table:
    table = Table("id", "subject", "kind", "size", "sha256", "jurisdictions", "expires", "state")
    for i in items:
        end = i.expires_at
        state = "purged" if i.purged else ("held" if i.held else "kept")
        table.add_row(
            str(i.id),
            e(f"{i.subject_type} {i.subject_id}"),
            e(i.kind),
            human_bytes(i.size),
            i.sha256[:16] + "...",
            e(",".join(i.jurisdictions) or "-"),
            f"{end:%Y-%m-%d}" if end else "until released",
            state,
        )
    return table


@click.group("evidence")
def evidence() -> None:
    """Preserved evidence of filed reports: encrypted, kept for the legal period, then purged."""


@evidence.command("list")
@click.option("--report", "report_id", type=int, help="Only this report's evidence.")
@click.option("--due", is_flag=True, help="Only items whose period has ended (what purge would delete).")
@click.option("--all", "include_purged", is_flag=True, help="Include purged items.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(app: App, report_id: int | None, due: bool, include_purged: bool, as_json: bool) -> None:
    """List evidence items (metadata only)."""
    items = evidence_of(app).items(
        subject=("report", str(report_id)) if report_id is not None else None,
        include_purged=include_purged,
        due_at=utcnow() if due else None,
    )
    if as_json:
        for i in items:
            print_json(i.to_dict())
        return
    if not items:
        out.print("no evidence items")
        return
    out.print(_table(items))


@evidence.command("show")
@click.argument("item_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: App, item_id: int, as_json: bool) -> None:
    """Show one item's metadata and holds."""
    item = evidence_of(app).get(item_id)
    if as_json:
        print_json(item.to_dict())
        return
    out.print(_table([item]))
    for key, value in item.facts.items():
        out.print(f"  {e(key)}: {e(value)}")
    for h in item.holds:
        state = f"released {h.released_at:%Y-%m-%d} by {h.released_by}" if h.released_at else "active"
        until = f"{h.until:%Y-%m-%d}" if h.until else "until released"
        out.print(f"  hold {h.id}: {until}, {e(h.reason)} ({e(h.reference or '-')}), {e(state)}")


@evidence.command("hold")
@click.argument("item_ids", type=int, nargs=-1)
@click.option("--report", "report_id", type=int, help="Hold every item of this report.")
@click.option("--reason", required=True, help="Why (for example the legal process).")
@click.option("--until", "until", help="Keep until this date (ISO); default: until released.")
@click.option("--reference", help="Case or legal process number.")
@pass_app
def hold(
    app: App,
    item_ids: tuple[int, ...],
    report_id: int | None,
    reason: str,
    until: str | None,
    reference: str | None,
) -> None:
    """Place a legal hold: the items outlive their retention period."""
    if bool(item_ids) == (report_id is not None):
        raise InvalidInputError("name evidence item ids or --report, not both")
    holds = evidence_of(app).hold(
        list(item_ids),
        subject=("report", str(report_id)) if report_id is not None else None,
        reason=reason,
        until=parse_when(until, "--until"),
        reference=reference,
    )
    for h in holds:
        out.print(
            f"hold {h.id} on item {h.item_id}"
            + (f" until {h.until:%Y-%m-%d}" if h.until else " until released")
        )


@evidence.command("release")
@click.argument("hold_id", type=int)
@click.option("--reason", required=True)
@pass_app
def release(app: App, hold_id: int, reason: str) -> None:
    """Release a legal hold (the item is then purged when its period has ended)."""
    h = evidence_of(app).release(hold_id, reason=reason)
    out.print(f"released hold {h.id} on item {h.item_id}")


@evidence.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list what would be purged.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def purge(app: App, dry_run: bool, as_json: bool) -> None:
    """Delete every item whose retention period and holds have ended (run it daily)."""
    result = evidence_of(app).purge(dry_run=dry_run)
    if as_json:
        print_json({"dry_run": dry_run, "items": [i.to_dict() for i in result.items]})
        return
    verb = "would purge" if dry_run else "purged"
    out.print(f"{verb} {result.count} item(s)")
    if result.items:
        out.print(_table(result.items))


@evidence.command("export")
@click.argument("item_id", type=int)
@click.option("--to", "target", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_app
def export(app: App, item_id: int, target: Path) -> None:
    """Write an item's content to a file (for legal process; audited, evidence roles only)."""
    path = evidence_of(app).export(item_id, target)
    out.print(f"wrote {e(path)}")
