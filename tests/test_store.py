"""The store on SQLite and PostgreSQL: migrations, counters, ids."""

from __future__ import annotations

from sqlalchemy import inspect

from ohsc.store.all_models import metadata as all_metadata
from ohsc.store.db import Store, current_seq, next_seq, normalise_url


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
