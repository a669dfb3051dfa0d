"""The index asks OpenMP for the configured threads per query, on whichever thread searches.

Issue 10, item 10: faiss searched with an OpenMP team as wide as the machine in every server
process, so two processes kept both cores spinning at barriers. No timing here: the check is
the thread count each searching thread ends up with (``faiss.omp_get_max_threads()``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import faiss
import pytest

from ohsc.index import PdqIndex
from ohsc.index import threads as index_threads
from ohsc.matching.matcher import Matcher
from ohsc.settings import load_settings
from ohsc.store.db import Store

CODE = "f" * 64


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    before = index_threads.query_threads()
    yield
    index_threads.configure(before)


def _threads_seen_by_a_query(index: PdqIndex, *, team_before: int = 4) -> int:
    """Query from a new thread whose OpenMP team is ``team_before`` wide (a many-core machine)."""
    seen: list[int] = []

    def search() -> None:
        faiss.omp_set_num_threads(team_before)
        assert [h.label for h in index.query(CODE, 10)] == [1]
        seen.append(faiss.omp_get_max_threads())

    t = threading.Thread(target=search)
    t.start()
    t.join()
    return seen[0]


def test_a_query_uses_one_openmp_thread_by_default() -> None:
    index = PdqIndex()
    index.add([1], [CODE])
    assert index_threads.DEFAULT_THREADS == 1
    index_threads.configure(index_threads.DEFAULT_THREADS)
    assert _threads_seen_by_a_query(index) == 1


def test_a_configured_count_reaches_threads_that_searched_before() -> None:
    index = PdqIndex()
    index.add([1], [CODE])
    index_threads.configure(3)
    assert _threads_seen_by_a_query(index, team_before=1) == 3
    # a thread that already searched picks up a later change
    seen: list[int] = []
    ready, go = threading.Event(), threading.Event()

    def search_twice() -> None:
        index.query(CODE, 0)
        seen.append(faiss.omp_get_max_threads())
        ready.set()
        go.wait(10)
        index.query(CODE, 0)
        seen.append(faiss.omp_get_max_threads())

    t = threading.Thread(target=search_twice)
    t.start()
    ready.wait(10)
    index_threads.configure(2)
    go.set()
    t.join()
    assert seen == [3, 2]


@pytest.mark.parametrize(
    ("wanted", "processes", "cores", "expected"),
    [(1, 1, 2, 1), (4, 1, 2, 2), (4, 2, 2, 1), (8, 2, 16, 8), (8, 4, 16, 4), (2, 8, 2, 1)],
)
def test_threads_never_exceed_a_process_share_of_the_cores(
    wanted: int, processes: int, cores: int, expected: int
) -> None:
    assert index_threads.effective_threads(wanted, processes, cores) == expected


def test_the_matcher_applies_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OHSC_INDEX_THREADS", "64")
    monkeypatch.setenv("OHSC_SERVER_WORKERS", "1")
    settings = load_settings(home=tmp_path)
    assert settings.index_threads == 64
    store = Store.from_settings(settings)
    store.migrate()
    try:
        Matcher.open(store, settings)
    finally:
        store.dispose()
    assert index_threads.query_threads() == index_threads.usable_cores()
