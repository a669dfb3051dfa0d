"""Failures injected by the database itself: a trigger that refuses a statement on one table.

The refusal happens inside the real transaction, after whatever the code did before that
statement (e.g. storing a blob), exactly as a constraint violation would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from ohsc.settings import Settings
from ohsc.store.db import Store

MESSAGE = "injected failure"


@contextmanager
def refused(store: Store, table: str, statement: str = "INSERT") -> Iterator[None]:
    """Every ``statement`` (INSERT, UPDATE, DELETE) on ``table`` fails while the block runs, as a
    constraint violation (``sqlalchemy.exc.IntegrityError``) on both databases."""
    name = f"ohsc_test_refuse_{table}_{statement.lower()}"
    if store.dialect == "sqlite":
        create = [
            f"CREATE TRIGGER {name} BEFORE {statement} ON {table} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        ]
        drop = [f"DROP TRIGGER {name}"]
    else:
        create = [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation'; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {name} BEFORE {statement} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
        drop = [f"DROP TRIGGER {name} ON {table}", f"DROP FUNCTION {name}()"]
    with store.session() as s:
        for sql in create:
            s.execute(text(sql))
    try:
        yield
    finally:
        with store.session() as s:
            for sql in drop:
                s.execute(text(sql))


def blob_files(settings: Settings, namespace: str) -> list[Path]:
    """The blobs stored in ``namespace`` (files, whatever their content)."""
    root = settings.blobs_dir / namespace
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
