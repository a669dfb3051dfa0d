"""Fixtures for the service tests: a real store (SQLite file, or a PostgreSQL schema emptied
between tests) and the app on it. Helpers live in ``svc_helpers``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from svc_browser import close_shared_browser, require_browser, shared_browser
from svc_helpers import Env, empty_tables, make_env

from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store, normalise_url

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PG_URL = os.environ.get("OHSC_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def pg_service_url() -> Iterator[str]:
    """A private PostgreSQL schema for this test process; tables are emptied between tests."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need OHSC_TEST_DATABASE_URL (set by .ci/run when PostgreSQL is up)")
    schema = f"ohsc_svc_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    Store(url).dispose()  # migrate once
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    url: str = request.getfixturevalue("pg_service_url")
    empty_tables(url)
    return url


@pytest.fixture
def svc_settings(tmp_path: Path, db_url: str) -> Settings:
    return load_settings(home=tmp_path / "home", database_url=db_url, apikey_cache_seconds=0)


@pytest.fixture
def env(svc_settings: Settings) -> Iterator[Env]:
    yield from make_env(svc_settings)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> Iterator[Env]:
    settings = load_settings(home=tmp_path / "home", apikey_cache_seconds=0)
    yield from make_env(settings)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless chromium shared by consecutive browser tests; what a test opened in it (contexts,
    pages) is closed after the test, so the next one starts without cookies or storage."""
    require_browser()
    shared = shared_browser()
    yield shared
    for context in shared.contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the fixtures' teardown: close the shared chromium unless the next test uses it."""
    try:
        return (yield)
    finally:
        if nextitem is None or "browser" not in getattr(nextitem, "fixturenames", ()):
            close_shared_browser()
