"""Jobs that act on the shared store run in one server process, the leader (issue 10, item 10).

With ``ohsc serve --workers N`` every process ran retention, evidence purge, webhook delivery
and report resumption, and saved compacted index files. Here two processes' worth of services
share one store: only the first leads, the second takes over when the first goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store
from ohsc.web.app import create_app
from ohsc.web.background import Jobs
from ohsc.web.leader import AdvisoryLeadership, FileLeadership, leadership_for
from ohsc.web.schedule import ELECTION, JOBS, Election, new_jobs, start_background
from ohsc.web.services import Services

LEADER_ONLY = {
    "webhook-outbox",
    "retention",
    "report-resume",
    "evidence-purge",
    "crawl",
    "removal-recheck",
    "exchange-sync",
}
EVERY_PROCESS = {"index-refresh", "index-compact", "prevention-counters"}


@pytest.fixture
def shared_settings(tmp_path: Path, db_url: str) -> Settings:
    return load_settings(home=tmp_path / "home", database_url=db_url)


class _Process:
    """What one server process starts: its services, jobs and election (no HTTP)."""

    def __init__(self, settings: Settings) -> None:
        self.services = Services.open(settings)
        self.jobs: Jobs = new_jobs(settings)
        self.election: Election = start_background(self.services, self.jobs, load_in_thread=True)

    def names(self) -> set[str]:
        return {job.name for job in self.jobs.jobs}

    def stop(self) -> None:
        self.jobs.stop()
        self.election.release()
        self.services.writer.close()
        self.services.store.dispose()


@pytest.fixture
def processes(shared_settings: Settings) -> Iterator[list[_Process]]:
    Store.from_settings(shared_settings).dispose()  # migrated once, as `ohsc serve` does
    started: list[_Process] = []
    yield started
    for p in started:
        p.stop()


def test_only_one_process_runs_the_shared_jobs(shared_settings: Settings, processes: list[_Process]) -> None:
    first = _Process(shared_settings)
    processes.append(first)
    second = _Process(shared_settings)
    processes.append(second)

    assert first.services.leader.is_set()
    assert LEADER_ONLY | EVERY_PROCESS | {ELECTION} <= first.names()
    assert not second.services.leader.is_set()
    assert not LEADER_ONLY & second.names()  # not started at all, not merely idle
    assert EVERY_PROCESS | {ELECTION} <= second.names()
    assert all(spec.name in LEADER_ONLY | EVERY_PROCESS for spec in JOBS)

    # the leader goes away: the next round of the election hands its jobs over
    processes.remove(first)
    first.stop()
    assert second.election.check() is True
    assert second.services.leader.is_set()
    assert second.names() >= LEADER_ONLY


def test_readiness_says_which_process_leads(shared_settings: Settings, processes: list[_Process]) -> None:
    leader = _Process(shared_settings)
    processes.append(leader)
    app = create_app(shared_settings)
    with TestClient(app) as client:
        body = client.get("/health/ready").json()
        assert body["leader"] is False
        assert not LEADER_ONLY & set(body["jobs"])
    assert leader.services.leader.is_set()


def test_a_stopped_app_hands_leadership_over(shared_settings: Settings) -> None:
    Store.from_settings(shared_settings).dispose()
    for _ in range(2):  # the second app leads once the first has shut down
        with TestClient(create_app(shared_settings)) as client:
            assert client.get("/health/ready").json()["leader"] is True


def test_a_file_lock_has_one_holder_at_a_time(tmp_path: Path) -> None:
    a, b = FileLeadership(tmp_path / "leader.lock"), FileLeadership(tmp_path / "leader.lock")
    assert a.try_acquire() is True
    assert a.try_acquire() is True  # already held: still the leader
    assert b.try_acquire() is False
    a.release()
    assert b.try_acquire() is True
    b.release()


@pytest.mark.postgres
def test_an_advisory_lock_has_one_holder_at_a_time(pg_service_url: str) -> None:
    settings = load_settings(database_url=pg_service_url)
    one, two = Store.from_settings(settings), Store.from_settings(settings)
    try:
        a, b = leadership_for(one, settings), leadership_for(two, settings)
        assert isinstance(a, AdvisoryLeadership)
        assert a.try_acquire() is True
        assert a.try_acquire() is True
        assert b.try_acquire() is False
        a.release()
        assert b.try_acquire() is True
        b.release()
    finally:
        one.dispose()
        two.dispose()
