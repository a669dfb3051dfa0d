"""The store on SQLite and PostgreSQL: migrations, counters, ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, select, text

from ohsc.errors import StoreError
from ohsc.store.all_models import metadata as all_metadata
from ohsc.store.db import Store, current_seq, next_seq, normalise_url
from ohsc.store.models import Counter


def test_plain_postgres_urls_get_the_psycopg_driver() -> None:
    assert normalise_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_migrations_create_every_model_table(store: Store) -> None:
    with store.session() as s:
        tables = set(inspect(s.connection()).get_table_names())
    assert set(all_metadata.tables) <= tables


def test_store_id_is_stable(store: Store) -> None:
    first = store.store_id
    assert len(first) == 32
    assert store.store_id == first


def test_counters_reserve_ranges(store: Store) -> None:
    with store.session() as s:
        start = current_seq(s, "entry_seq")
        assert next_seq(s, "entry_seq", 5) == start + 5
        assert next_seq(s, "entry_seq") == start + 6
        assert next_seq(s, "brand_new") == 1


def test_migrations_match_the_models(sqlite_store: Store) -> None:
    """Autogenerate finds nothing to do: every model change came with a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with sqlite_store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), all_metadata)
    assert diff == []


def test_reading_on_a_sqlite_file_keeps_its_connection_and_sees_new_commits(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def seen() -> tuple[int, int]:
        with sqlite_store.reading() as conn:
            return id(conn.connection.dbapi_connection), current_seq_of(conn)

    def current_seq_of(conn: Connection) -> int:
        return int(conn.execute(select(Counter.value).where(Counter.name == "entry_seq")).scalar_one())

    first, before = seen()
    with sqlite_store.session() as s:
        next_seq(s, "entry_seq", 3)
    again, after = seen()
    assert again == first and after == before + 3  # kept, and no snapshot kept with it
    monkeypatch.setattr("ohsc.store.db.os.getpid", lambda: -1)  # as in a forked child
    assert seen()[0] != first  # never a connection opened by another process
    monkeypatch.undo()
    sqlite_store.dispose()
    assert sqlite_store._reader is None


def test_reading_errors_are_store_errors(store: Store) -> None:
    with pytest.raises(StoreError), store.reading() as conn:
        conn.execute(text("SELECT nothing FROM no_such_table"))


def test_a_store_says_whether_it_is_bound_to_one_connection(store: Store, tmp_path: Path) -> None:
    """The PostgreSQL tests' store is bound to the test's connection; a store of its own is not."""
    assert store.bound is (store.dialect == "postgresql")
    assert not Store(f"sqlite:///{tmp_path / 'own.db'}", auto_migrate=False).bound
