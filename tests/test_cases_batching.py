"""Case ingest applies its batches in a writer thread beside the scan (the scan's loop waited for
each batch before: its workers ran out of files, ingest ran at 0.9 of the scan's rate), in
order, all of them by the end; an error in the writer reaches the ingest's thread and stops the
applying (the journal keeps what was not applied, for the next run)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ohsc.cases.batching import BATCH, Batcher, writes_beside
from ohsc.cases.ingest import Applier, FileTimes
from ohsc.cases.jobs import SourceProgress
from ohsc.cases.models import CaseItemRow, CaseSourceRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.case_sources import new_applier


def _record(i: int) -> dict[str, Any]:
    digest = f"{i:032x}"
    return {"path": f"d/p{i:05d}.jpg", "size": 1000 + i, "md5": digest, "kind": "image", "format": "jpeg"}


def _times(_r: dict[str, Any]) -> FileTimes:
    return FileTimes()


def _applier(store: Store, settings: Settings) -> tuple[Applier, int]:
    return new_applier(store, settings, "batches")


def _items(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(CaseItemRow)) or 0)


def test_batches_are_applied_in_a_writer_thread_in_order(sqlite_store: Store, settings: Settings) -> None:
    applier, source_id = _applier(sqlite_store, settings)
    progress = SourceProgress(sqlite_store, source_id, None)
    progress.deferred = True
    applied: list[tuple[str, int]] = []

    def on_applied(counts: dict[str, int]) -> None:
        applied.append((threading.current_thread().name, counts["files"]))
        progress.write(force=True)  # as ingest writes the progress row: with the batches

    with Batcher(applier, _times, on_applied) as batcher:
        for i in range(2 * BATCH + 10):
            batcher.add(_record(i))
            progress.done += 1
        batcher.flush()  # everything in the store when it returns
        assert _items(sqlite_store) == 2 * BATCH + 10
    assert [files for _name, files in applied] == [BATCH, BATCH, 10]
    assert {name for name, _files in applied} == {"ohsc-case-writer"}
    assert "ohsc-case-writer" not in {t.name for t in threading.enumerate()}  # closed
    with sqlite_store.session() as s:
        row = s.get(CaseSourceRow, source_id)
        assert row is not None and row.done == 2 * BATCH + 10


def test_without_a_writer_thread_batches_are_applied_in_the_callers(store: Store, settings: Settings) -> None:
    """A store bound to one connection (PostgreSQL tests) takes no statements from a 2nd thread."""
    applier, _source_id = _applier(store, settings)
    names: list[str] = []
    with Batcher(
        applier, _times, lambda _c: names.append(threading.current_thread().name), background=False
    ) as b:
        for i in range(BATCH + 1):
            b.add(_record(i))
    assert names == [threading.current_thread().name] * 2
    assert _items(store) == BATCH + 1


def test_an_error_in_the_writer_is_raised_in_the_ingest_thread(
    sqlite_store: Store, settings: Settings
) -> None:
    applier, _source_id = _applier(sqlite_store, settings)

    def on_applied(_counts: dict[str, int]) -> None:
        raise RuntimeError("the store went away")

    def ingest() -> None:
        with Batcher(applier, _times, on_applied) as batcher:
            for i in range(4 * BATCH):
                batcher.add(_record(i))

    with pytest.raises(RuntimeError, match="went away"):
        ingest()
    # the first batch was applied before its callback failed; nothing after it
    assert _items(sqlite_store) == BATCH
    assert "ohsc-case-writer" not in {t.name for t in threading.enumerate()}


def test_a_writer_thread_only_where_a_second_connection_sees_the_same_database(
    store: Store, tmp_path: Path
) -> None:
    assert writes_beside(store) is (store.dialect == "sqlite")  # the PostgreSQL tests' is bound
    assert writes_beside(Store(f"sqlite:///{tmp_path / 'file.db'}", auto_migrate=False))
    assert not writes_beside(Store("sqlite://", auto_migrate=False))
