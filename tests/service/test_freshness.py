"""Freshness: bank adds and retractions made elsewhere are matchable within seconds, no rebuild."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from ohsc.banks.model import EntryInput
from ohsc.banks.service import BankService
from ohsc.settings import load_settings
from ohsc.store.db import Store
from ohsc.web.app import create_app

MD5 = "0123456789abcdef0123456789abcdef"


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError("not within the time limit")


def test_background_refresh_picks_up_changes(tmp_path: Path, db_url: str) -> None:
    settings = load_settings(home=tmp_path / "home", database_url=db_url, refresh_seconds=1.0)
    app = create_app(settings, load_in_thread=False)
    with TestClient(app) as client:
        assert client.get("/health/ready").status_code == 200
        key = app.state.services.accounts.create_api_key("k", ["match"]).secret
        headers = {"Authorization": f"Bearer {key}"}

        def matched() -> bool:
            r = client.post("/v1/match", json={"signals": {"md5": MD5}}, headers=headers)
            return bool(r.json()["matched"])

        assert not matched()
        other = Store(settings.effective_database_url())  # as another process (the CLI) would
        try:
            banks = BankService(other, settings, actor="cli:test")
            banks.create_bank("fresh")
            banks.add_entries("fresh", [EntryInput(signal_type="md5", value=MD5)])
            assert _eventually(matched) < 5
            banks.retract("fresh", MD5, "withdrawn")
            assert _eventually(lambda: not matched()) < 5
        finally:
            other.dispose()
        jobs = {job.name: job for job in app.state.jobs.jobs}
        assert jobs["index-refresh"].runs > 0
        assert jobs["index-refresh"].failures == 0
