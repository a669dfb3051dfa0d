"""What OHSC creates in its data directory is owner-only (folders 0700, files 0600, whatever the
umask), and an existing data directory readable by others is tightened with a warning."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ohsc.banks import BankService
from ohsc.cli import main
from ohsc.index.manager import IndexSet
from ohsc.media.blobs import LocalEncryptedBlobStore, load_or_create_key
from ohsc.scanning.journal import Journal
from ohsc.settings import load_settings
from ohsc.store.db import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The common default umask, under which files used to come out world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_data_directory_and_its_store_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    settings = load_settings(home=home)
    store = Store.from_settings(settings)
    try:
        BankService(store, settings).create_bank("b")
        IndexSet.open(store, settings.index_dir).save()
        db = home / "ohsc.db"
        # a reader holding the WAL open, as a running server does
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        try:
            assert mode(home) == 0o700
            for f in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                assert mode(f) == 0o600, f
            assert mode(settings.index_dir) == 0o700
            files = list(settings.index_dir.iterdir())
            assert files and all(mode(f) == 0o600 for f in files)
        finally:
            conn.close()
    finally:
        store.dispose()


def test_blobs_keys_and_journals_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = load_or_create_key(None, home / "content.key")
    assert mode(home) == 0o700 and mode(home / "content.key") == 0o600
    blobs = LocalEncryptedBlobStore(home / "blobs", key)
    blob_id = blobs.put("review", b"benign bytes")
    path = home / "blobs" / "review" / blob_id[:2] / blob_id
    for folder in (home / "blobs", home / "blobs" / "review", path.parent):
        assert mode(folder) == 0o700, folder
    assert mode(path) == 0o600
    journal = Journal(home / "scans" / "x.jsonl", append=False)
    journal.write({"path": "a"})
    journal.close()
    assert mode(home / "scans") == 0o700 and mode(home / "scans" / "x.jsonl") == 0o600


def test_an_existing_readable_home_is_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "index").mkdir(mode=0o755)
    (home / "ohsc.db").touch(mode=0o644)
    (home / "content.key").write_text("x")
    os.chmod(home / "content.key", 0o644)
    with caplog.at_level(logging.WARNING, logger="ohsc.permissions"):
        Store.from_settings(load_settings(home=home)).dispose()
    assert mode(home) == 0o700
    assert mode(home / "index") == 0o700
    assert mode(home / "ohsc.db") == 0o600
    assert mode(home / "content.key") == 0o600
    assert "readable by other users (mode 0755)" in caplog.text
    assert str(home / "ohsc.db") in caplog.text


def test_cli_creates_an_owner_only_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = CliRunner().invoke(main, ["bank", "create", "known"], env={"OHSC_HOME": str(home)})
    assert r.exit_code == 0, r.output
    assert mode(home) == 0o700
    assert mode(home / "ohsc.db") == 0o600
