"""Shared fixtures.

* ``store``: a real store, once on SQLite (a fresh file per test) and once on PostgreSQL (one
  schema per test session, every test inside a transaction that is rolled back). PostgreSQL runs
  when ``OHSC_TEST_DATABASE_URL`` is set (``.ci/run`` sets it when the local server answers).
* ``shared``: the ``../shared`` reference data; tests that need it skip on a fresh clone.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from ohsc.banks.service import BankService
from ohsc.index.manager import IndexSet
from ohsc.matching.matcher import Matcher
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store, normalise_url
from tests.store_copies import migrated_copy

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


@pytest.fixture
def banks(store: Store, settings: Settings) -> BankService:
    return BankService(store, settings, actor="test")


@pytest.fixture
def matcher(store: Store, settings: Settings) -> Matcher:
    return Matcher(store, settings, IndexSet.open(store, settings.index_dir))


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


def _sqlite_store(tmp_path: Path) -> Store:
    """A fresh migrated store (a copy of one migrated once per test process)."""
    return Store(f"sqlite:///{migrated_copy(tmp_path / 'store.db')}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = _sqlite_store(tmp_path)
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
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = _sqlite_store(tmp_path)
    yield s
    s.dispose()
