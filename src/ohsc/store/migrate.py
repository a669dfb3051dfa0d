"""Alembic, driven from code: ``upgrade(connection)`` brings any store to the newest schema.

Opening a store that is already up to date must not cost Alembic's import and script loading
(about 0.1-0.2 s, paid by every CLI command): :func:`up_to_date` compares the store's
``alembic_version`` rows with the heads read from the migration files' ``revision`` and
``down_revision`` lines, and Alembic is imported only when there is something to do.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"

_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str]:
    """The newest revisions of the migration scripts (those no other script builds on)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(
            (name, value.split("#", 1)[0]) for name, value in _ASSIGNMENT.findall(path.read_text("utf-8"))
        )
        if "revision" not in found:
            continue
        revisions.update(_QUOTED.findall(found["revision"]))
        parents.update(_QUOTED.findall(found.get("down_revision", "")))
    return frozenset(revisions - parents)


def current_heads(connection: Connection) -> frozenset[str]:
    """The revisions the store says it is at (none for an empty database)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def up_to_date(connection: Connection) -> bool:
    """The store is at the newest revision (checked without importing Alembic)."""
    return current_heads(connection) == script_heads()


def upgrade(connection: Connection, revision: str = "head") -> None:
    if revision == "head" and up_to_date(connection):
        return
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(connection), revision)
