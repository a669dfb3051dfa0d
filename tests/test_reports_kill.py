"""``kill -9`` the real ``ohsc report submit`` mid-flow, run it again: exactly one CyberTipline report.

The fake server stops at a chosen step (before handling a call, or after handling it but before
answering); the test kills the process there, lets the server go on, and submits again. On
SQLite (a file) and PostgreSQL (a committed schema, since another process must see the data).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from ohsc.audit import verify
from ohsc.reports.ncmec.fake_server import FakeCyberTipline
from ohsc.reports.tables import SubmissionRow
from ohsc.settings import load_settings
from ohsc.store.db import Store, normalise_url
from tests.conftest import PG_URL
from tests.reporting_support import ADMIN, make_report, ncmec_schema, service

OHSC = str(Path(sys.executable).with_name("ohsc"))

# Every step is crashed in-process in test_reports_ncmec_flow.py; these are the real-process checks
# (a process start costs seconds), one per kind of step.
POINTS = [
    ("submit", 1, "after"),
    ("upload", 2, "before"),
    ("fileinfo", 2, "after"),
    ("finish", 1, "after"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ohsc.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need OHSC_TEST_DATABASE_URL")
    schema = f"ohsc_kill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(("endpoint", "nth", "when"), POINTS)
def test_kill_mid_flow_and_resume(
    tmp_path: Path, database_url: str, endpoint: str, nth: int, when: str
) -> None:
    with FakeCyberTipline(schema_path=ncmec_schema()) as fake:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OHSC_")},
            "OHSC_HOME": str(tmp_path / "home"),
            "OHSC_DATABASE_URL": database_url,
            "OHSC_REPORT_DESTINATIONS": '{"US": ["ncmec"]}',
            "OHSC_NCMEC_BASE_URL": fake.url,
            "OHSC_NCMEC_USERNAME": "ohsc-test",
            "OHSC_NCMEC_PASSWORD": "ohsc-test",
            "OHSC_REPORT_CONTACT_EMAIL": "safety@example.org",
        }
        settings = load_settings(
            home=tmp_path / "home",
            database_url=database_url,
            report_destinations={"US": ["ncmec"]},
            report_contact_email="safety@example.org",
        )
        store = Store(database_url, settings=settings)  # the same audit key as the command
        rid = make_report(service(store, settings, ADMIN), files=2)

        pause = fake.pause(endpoint, nth, when)
        proc = subprocess.Popen(  # the real command, killed at the pause
            [OHSC, "report", "submit", str(rid), "--yes"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            assert pause.reached.wait(120), f"never reached {endpoint} #{nth}: {proc.communicate()[0]!r}"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(30)
            assert proc.stdout is not None
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        pause.release()
        assert pause.done.wait(30)

        again = subprocess.run(
            [OHSC, "report", "submit", str(rid), "--yes"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"report {rid} is filed" in again.stdout

        finished = fake.finished()
        assert len(finished) == 1, fake.state()
        assert fake.violations == []
        assert len(finished[0].files) == 2
        with store.session() as s:
            sub = s.scalar(select(SubmissionRow).where(SubmissionRow.report_id == rid))
            assert sub is not None
            assert sub.state == "finished"
            assert sub.remote_id == str(finished[0].report_id)
            assert verify(s).ok
        store.dispose()
