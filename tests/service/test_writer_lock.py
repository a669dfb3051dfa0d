"""Server processes on one SQLite file queue their group commits on a ``flock`` (issue 10, item 10).

SQLite's own wait for a locked database sleeps and retries, so with two server processes the
one holding the write lock kept taking it back and the other's requests stalled for seconds.
Checked without timing: while the record writer's INSERT runs, the lock file is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event

from ohsc.content.model import Submission
from ohsc.settings import load_settings
from ohsc.store.db import Store
from ohsc.web.services import ServerStore, Services

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _held_by_someone_else(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_the_record_writer_commits_under_the_cross_process_lock(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    Store.from_settings(settings).dispose()
    services = Services.open(settings)
    store = services.store
    assert isinstance(store, ServerStore)
    lock = store._writer_lock_path()
    assert lock is not None
    held_during_insert: list[bool] = []

    def probe(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CONTENT"):
            held_during_insert.append(_held_by_someone_else(lock))

    event.listen(store.engine, "before_cursor_execute", probe)
    try:
        services.load_indexes()
        result = asyncio.run(
            services.content("test").submit_async(Submission(signals={"pdq": PDQ}, source="signals"))
        )
        assert result.content_id > 0
    finally:
        services.writer.close()
        store.dispose()
    assert held_during_insert == [True]
    assert not _held_by_someone_else(lock)  # released after the commit


def test_the_lock_is_one_holder_across_stores(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    one, two = ServerStore.from_settings(settings), ServerStore.from_settings(settings)
    assert isinstance(one, ServerStore) and isinstance(two, ServerStore)
    try:
        lock = one._writer_lock_path()
        assert lock is not None and lock == two._writer_lock_path()
        with one.write_lock():
            assert _held_by_someone_else(lock)
        assert not _held_by_someone_else(lock)
    finally:
        with contextlib.suppress(Exception):
            one.dispose()
        two.dispose()


def test_postgres_needs_no_file_lock() -> None:
    store = ServerStore("postgresql://nobody@127.0.0.1:1/none", auto_migrate=False)
    try:
        assert store._writer_lock_path() is None
        with store.write_lock():
            pass
    finally:
        store.dispose()
