"""``ohsc db`` and ``ohsc index``: housekeeping (``ohsc audit``: :mod:`ohsc.cli.audit_cmd`)."""

from __future__ import annotations

import click
from rich.table import Table

from ohsc.cli.app import App, out, pass_app
from ohsc.cli.render import e, human_bytes, print_json


@click.group("db")
def db() -> None:
    """The store (SQLite by default, PostgreSQL with OHSC_DATABASE_URL)."""


@db.command("upgrade")
@pass_app
def upgrade(app: App) -> None:
    """Apply schema migrations."""
    app.store.migrate()
    out.print(f"store at {e(app.store.display_url)} is up to date (id {app.store.store_id})")


@click.group("index")
def index() -> None:
    """The match indexes (a cache of the store, kept under OHSC_HOME/index)."""


@index.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def status(app: App, as_json: bool) -> None:
    """Open the indexes (catching up with the store) and show their state."""
    from ohsc.index.manager import IndexSet

    iset = IndexSet.open(app.store, app.settings.index_dir)
    stats = {st: idx.stats() for st, idx in iset.indexes.items()}
    if as_json:
        print_json({"applied_seq": iset.applied_seq, "indexes": stats})
        return
    table = Table("signal", "kind", "base", "recent adds", "pending removals", "memory")
    for st, s in stats.items():
        mem = s.get("memory_bytes")
        table.add_row(
            st,
            str(s.get("base", s["kind"])),
            str(s.get("base_size", "")),
            str(s.get("delta_size", "")),
            str(s.get("removed_pending", "")),
            human_bytes(mem) if isinstance(mem, int) else "-",
        )
    out.print(table)
    out.print(f"store change sequence applied: {iset.applied_seq}")


@index.command("rebuild")
@pass_app
def rebuild(app: App) -> None:
    """Rebuild every index from the store and save it."""
    from ohsc.index.manager import IndexSet

    iset = IndexSet(app.store, app.settings.index_dir)
    result = iset.rebuild()
    iset.save()
    out.print(f"rebuilt: {result.added} entries indexed (sequence {iset.applied_seq})")


def settings_rows(app: App) -> list[tuple[str, str, str, str]]:
    """(variable, current value, default, description) for every setting; secrets masked."""
    from ohsc.settings import Settings

    current = app.settings
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(current, name)
        default = field.get_default(call_default_factory=True)
        secret = field.repr is False
        shown = "(set)" if secret and value else ("" if value is None else str(value))
        rows.append(
            (f"OHSC_{name.upper()}", shown, "" if default is None else str(default), field.description or "")
        )
    return rows


@click.command("settings")
@click.option("--markdown", is_flag=True, help="The configuration reference as a Markdown table.")
@pass_app
def settings_cmd(app: App, markdown: bool) -> None:
    """Show every OHSC_* setting with its current value (secrets masked)."""
    rows = settings_rows(app)
    if markdown:
        out.file.write("| variable | default | meaning |\n|---|---|---|\n")
        for var, _value, default, desc in rows:
            out.file.write(f"| `{var}` | `{default}` | {desc} |\n")
        return
    table = Table("variable", "value", "meaning")
    for var, value, _default, desc in rows:
        table.add_row(var, e(value), e(desc))
    out.print(table)
