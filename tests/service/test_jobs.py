"""Background jobs are independent, retry with back-off, and /health/ready says what is wrong.

A first index load that fails (here: the index directory is blocked by a file) used to stop
retention, evidence purge, webhooks and report resumption for the life of the process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from ohsc.actor import SYSTEM
from ohsc.errors import StoreError
from ohsc.evidence.service import EvidenceService
from ohsc.evidence.tables import EvidenceItemRow
from ohsc.settings import load_settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow
from ohsc.web.app import create_app
from ohsc.web.background import Backoff, Jobs


def _eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("not within the time limit")


def test_a_failed_index_load_stops_nothing_else_and_recovers(tmp_path: Path, db_url: str) -> None:
    settings = load_settings(
        home=tmp_path / "home",
        database_url=db_url,
        evidence_purge_seconds=0.5,
        report_resume_seconds=0.5,
        job_retry_seconds=0.2,
        job_retry_max_seconds=0.4,
    )
    store = Store.from_settings(settings)
    long_ago = utcnow() - timedelta(days=400)
    EvidenceService(store, settings, SYSTEM).preserve(
        source_key="k", subject_type="report", subject_id="1", kind="file", data=b"benign bytes",
        facts={}, jurisdictions=["US"], preserved_at=long_ago,
    )  # fmt: skip
    settings.index_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.index_dir.write_text("not a directory")  # the index files cannot be written

    app = create_app(settings, store=store)
    with TestClient(app) as client:

        def failing_load() -> dict[str, Any] | None:
            r = client.get("/health/ready")
            body: dict[str, Any] = r.json()
            failing = [p for p in body["problems"] if p["component"] == "index-load"]
            return (
                body if r.status_code == 503 and failing and failing[0]["consecutive_failures"] >= 2 else None
            )

        body = _eventually(failing_load)
        assert body["status"] == "starting"
        problem = next(p for p in body["problems"] if p["component"] == "index-load")
        assert problem["error"] in {"FileExistsError", "NotADirectoryError"}
        assert problem["critical"] is True
        assert 0 <= problem["next_retry_in"] <= 0.4  # back-off, capped
        assert "not a directory" not in str(body)  # no file contents or paths in a public answer

        # meanwhile every other job runs: the overdue evidence is purged, the outbox is served
        def purged() -> bool:
            with store.session() as s:
                return s.scalar(select(EvidenceItemRow.purged_at)) is not None

        _eventually(purged)
        jobs = client.get("/health/ready").json()["jobs"]
        for name in ("webhook-outbox", "evidence-purge", "report-resume"):
            assert jobs[name]["runs"] > 0, name
        assert jobs["retention"]["state"] == "waiting" and jobs["retention"]["next_run_in"] > 0

        settings.index_dir.unlink()  # the operator mends it: the next retry loads the indexes
        ready = _eventually(lambda: client.get("/health/ready").status_code == 200)
        assert ready
        body = client.get("/health/ready").json()
        assert body["status"] == "ready" and body["problems"] == []
        assert body["jobs"]["index-load"]["state"] == "done"
        assert body["jobs"]["index-load"]["failures"] >= 2
    store.dispose()


def test_a_failing_job_backs_off_and_readiness_names_it(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", job_retry_seconds=0.05, job_retry_max_seconds=0.2)
    app = create_app(settings, background=False)
    failures = {"left": 4}

    def flaky() -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise StoreError("database error: the placeholder host is down")

    with TestClient(app) as client:
        app.state.services.load_indexes()
        jobs: Jobs = app.state.jobs
        job = jobs.add("flaky", 60.0, flaky)
        r = _eventually(lambda: (x := client.get("/health/ready")).json()["problems"] and x)
        assert r.status_code == 200  # matching is right; something else is late
        body = r.json()
        assert body["status"] == "degraded"
        assert body["problems"][0]["component"] == "flaky"
        assert body["problems"][0]["error"] == "StoreError (store)"
        assert "placeholder host" not in r.text  # the message goes to the log only
        _eventually(lambda: client.get("/health/ready").json()["status"] == "ready")
        assert (job.runs, job.failures, job.consecutive_failures) == (1, 4, 0)
        assert client.get("/health/ready").json()["jobs"]["flaky"]["next_run_in"] > 50  # back on its interval


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(1.0, 10.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_failing_critical_job_makes_the_process_not_ready(tmp_path: Path) -> None:
    app = create_app(load_settings(home=tmp_path / "home", job_retry_seconds=0.05), background=False)

    def stale() -> None:
        raise RuntimeError("index refresh failed")

    with TestClient(app) as client:
        app.state.services.load_indexes()
        app.state.jobs.add("index-refresh", 60.0, stale, critical=True)
        r = _eventually(lambda: (x := client.get("/health/ready")).status_code == 503 and x)
        assert r.json()["status"] == "failing"
        assert r.json()["problems"][0]["component"] == "index-refresh"
