"""Shared fixtures.

* ``store``: a real store, once on SQLite (a fresh file per test) and once on PostgreSQL (one
  schema per test session, every test inside a transaction that is rolled back). PostgreSQL runs
  when ``OHSC_TEST_DATABASE_URL`` is set (``.ci/run`` sets it when the local server answers).
* ``shared``: the ``../shared`` reference data; tests that need it skip on a fresh clone.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store, normalise_url

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PG_URL = os.environ.get("OHSC_TEST_DATABASE_URL", "")

requires_shared = pytest.mark.skipif(
    not (SHARED / "README.md").exists(),
    reason="../shared reference data is not present (a fresh clone has none)",
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's real OHSC settings or data directory."""
    for key in list(os.environ):
        if key.startswith("OHSC_") and key != "OHSC_TEST_DATABASE_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OHSC_HOME", str(tmp_path / "ohsc-home"))


@pytest.fixture
def shared() -> Path:
    if not (SHARED / "README.md").exists():
        pytest.skip("../shared reference data is not present (a fresh clone has none)")
    return SHARED


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "ohsc-home")


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """A private schema on the test PostgreSQL, migrated once; dropped at the end."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need OHSC_TEST_DATABASE_URL (set by .ci/run when PostgreSQL is up)")
    schema = f"ohsc_test_{uuid.uuid4().hex[:10]}"
    url = normalise_url(PG_URL)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as conn:
        Store(url, bind=conn, auto_migrate=True)  # migrate once, committed
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once per test process: each test's store is a copy of it (migrating
    a new file costs ~0.3 s; a copy ~0.015 s), as migrating would leave it."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    Store(f"sqlite:///{path}").dispose()  # the last connection closed: the WAL is checkpointed
    return path


def _sqlite_store(tmp_path: Path, template: Path) -> Store:
    """A fresh migrated store with a store id of its own (migrating gives each store a random one)."""
    target = tmp_path / "store.db"
    shutil.copyfile(template, target)
    target.chmod(0o600)  # owner-only, as the store creates its file
    conn = sqlite3.connect(target)
    try:
        with conn:
            conn.execute("UPDATE ohsc_meta SET value = ? WHERE key = 'store_id'", (uuid.uuid4().hex,))
    finally:
        conn.close()
    return Store(f"sqlite:///{target}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = _sqlite_store(tmp_path, request.getfixturevalue("sqlite_template"))
        yield s
        s.dispose()
        return
    engine: Engine = request.getfixturevalue("pg_engine")
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield Store(PG_URL, bind=conn, auto_migrate=False)
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture
def sqlite_store(tmp_path: Path, sqlite_template: Path) -> Iterator[Store]:
    s = _sqlite_store(tmp_path, sqlite_template)
    yield s
    s.dispose()
