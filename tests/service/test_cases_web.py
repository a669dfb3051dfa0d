"""Triage cases over the API and in the pages: list, stats, grid items, categorise with the
agreement rule, VICS export, blurred previews, and reveals that count against the review queue's
exposure budget."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from svc_helpers import Env, image, make_env

from ohsc.cases.jobs import claim, release
from ohsc.cases.service import CaseService
from ohsc.settings import Settings, load_settings
from ohsc.store.models import AuditEvent


def _case(env: Env, tmp_path: Path, agreement: int = 2) -> list[int]:
    folder = tmp_path / "seized"
    folder.mkdir()
    for seed in range(3):
        (folder / f"p{seed}.jpg").write_bytes(image(300 + seed))
    (folder / "copy.jpg").write_bytes(image(300))
    service = CaseService(env.store, env.settings, actor="cli:test")
    service.create("op", agreement=agreement)
    service.ingest("op", folder, workers=0)
    return [i.id for i in service.grid("op")["items"]]


def test_api_cases(env: Env, tmp_path: Path) -> None:
    ids = _case(env, tmp_path)
    headers = env.key("review")
    assert env.client.get("/v1/cases", headers=env.key("match")).status_code == 403
    listed = env.client.get("/v1/cases", headers=headers).json()
    assert [c["name"] for c in listed["items"]] == ["op"]
    stats = env.client.get("/v1/cases/op/stats", headers=headers).json()
    assert (stats["files"], stats["unique"]) == (4, 3)
    page = env.client.get("/v1/cases/op/items", params={"limit": 2}, headers=headers).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = env.client.get(
        "/v1/cases/op/items", params={"cursor": page["next_cursor"]}, headers=headers
    ).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == ids
    assert env.client.get("/v1/cases/op/items", params={"cursor": "x"}, headers=headers).status_code == 422
    r = env.client.post(
        "/v1/cases/op/categorise", json={"item_ids": ids[:1], "category": "1"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["final"] == 0  # agreement 2: one analyst is not enough
    item = env.client.get(f"/v1/cases/op/items/{ids[0]}", headers=headers).json()
    assert len(item["locations"]) == 2 and item["votes"][0]["category"] == "1"
    created = env.client.post("/v1/cases", json={"name": "second", "scheme": "uk"}, headers=headers)
    assert created.status_code == 201 and created.json()["scheme"] == "uk"
    export = env.client.get("/v1/cases/op/export.vics", params={"all": "true"}, headers=headers)
    assert export.status_code == 200 and len(json.loads(export.content)["value"]) == 3


def test_pages_grid_item_and_reveal_budget(env: Env, tmp_path: Path) -> None:
    ids = _case(env, tmp_path)
    env.user("ann")
    with TestClient(env.app, base_url="http://testserver") as client:
        csrf = env.login(client, "ann")
        assert client.get("/cases").status_code == 200
        grid = client.get("/cases/1/grid")
        assert grid.status_code == 200 and f'data-id="{ids[0]}"' in grid.text
        assert "Cat 1: child abuse material" in grid.text  # the keys' legend
        preview = client.get(f"/cases/1/items/{ids[0]}/preview")
        assert preview.headers["content-type"] == "image/jpeg"
        item = client.get(f"/cases/1/items/{ids[0]}")
        assert item.status_code == 200 and "copy.jpg" in item.text
        # no media without a recorded reveal
        assert client.get(f"/cases/1/items/{ids[0]}/media?grant=1.x").status_code == 403
        before = env.services.review.exposure(env.services.accounts.get_user("ann").id).reveals_today
        r = client.post(f"/cases/1/items/{ids[0]}/reveal", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        media = client.get(r.json()["url"])
        assert media.status_code == 200 and media.content == image(300)
        after = env.services.review.exposure(env.services.accounts.get_user("ann").id).reveals_today
        assert after == before + 1
        # categorise from the grid (JSON, CSRF header)
        r = client.post(
            "/cases/1/categorise",
            json={"item_ids": [ids[1]], "category": "2"},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 200 and r.json()["updated"][0]["mine"] == "2"
        assert (
            client.post("/cases/1/categorise", json={"item_ids": [ids[1]], "category": "2"}).status_code
            == 403
        )
        dashboard = client.get("/cases/1")
        assert dashboard.status_code == 200 and "user:ann" in dashboard.text


@pytest.fixture
def rooted(svc_settings: Settings, tmp_path: Path) -> Iterator[Env]:
    """An app whose server-side case ingest is limited to ``tmp_path/root``."""
    root = tmp_path / "root"
    root.mkdir()
    settings = load_settings(
        home=svc_settings.home,
        database_url=svc_settings.database_url,
        apikey_cache_seconds=0,
        case_ingest_root=root,
        workers=1,
    )
    yield from make_env(settings)


def _wait_done(get: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    for _ in range(600):
        got = get()
        if got["status"] not in ("queued", "running") and not got["running"]:
            return got
        time.sleep(0.1)
    raise AssertionError(f"the ingest did not finish: {got}")


def _actions(env: Env) -> list[str]:
    with env.store.session() as s:
        return list(s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("case.%"))))


def test_api_ingest_is_refused_without_a_root(env: Env, tmp_path: Path) -> None:
    headers = env.key("review")
    env.client.post("/v1/cases", json={"name": "op"}, headers=headers)
    folder = tmp_path / "seized"
    folder.mkdir()
    r = env.client.post("/v1/cases/op/ingest", json={"path": str(folder)}, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "case_source_refused"
    assert "OHSC_CASE_INGEST_ROOT" in r.json()["detail"]


def test_api_ingest_under_the_root_in_the_background(rooted: Env, tmp_path: Path) -> None:
    env = rooted
    root = tmp_path / "root"
    folder = root / "phone-1"
    folder.mkdir()
    for seed in range(3):
        (folder / f"p{seed}.jpg").write_bytes(image(300 + seed))
    (folder / "copy.jpg").write_bytes(image(300))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(image(310))
    (root / "link").symlink_to(outside)
    headers = env.key("review")
    assert env.client.post("/v1/cases", json={"name": "op"}, headers=headers).status_code == 201
    for bad in ("../elsewhere", str(outside), "link", "link/x.jpg", "/etc"):
        r = env.client.post("/v1/cases/op/ingest", json={"path": bad}, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "case_source_refused", bad
    assert (
        env.client.post("/v1/cases/op/ingest", json={"path": "nothing-here"}, headers=headers).status_code
        == 422
    )
    assert (
        env.client.post("/v1/cases/op/ingest", json={"path": "phone-1"}, headers=env.key("match")).status_code
        == 403
    )
    r = env.client.post("/v1/cases/op/ingest", json={"path": "phone-1"}, headers=headers)
    assert r.status_code == 202, r.text
    started = r.json()
    assert (
        started["path"] == str(folder.resolve())
        and started["status"] == "queued"
        and "resolved" not in started
    )
    url = f"/v1/cases/op/sources/{started['id']}"
    done = _wait_done(lambda: env.client.get(url, headers=headers).json())
    assert (done["status"], done["files"], done["total"], done["done"], done["failure"]) == (
        "done",
        4,
        4,
        4,
        None,
    )
    stats = env.client.get("/v1/cases/op/stats", headers=headers).json()
    assert (stats["files"], stats["unique"], stats["unknown"]) == (4, 3, 3)
    assert _actions(env) == ["case.create", "case.ingest_start", "case.ingest"]  # as the CLI's
    assert env.client.get("/v1/cases/op/sources/99", headers=headers).status_code == 404
    claim(started["id"])  # an ingest of that source still running in this process
    try:
        r = env.client.post("/v1/cases/op/ingest", json={"path": "phone-1"}, headers=headers)
        assert r.status_code == 409 and r.json()["code"] == "case_ingest_busy"
    finally:
        release(started["id"])


def test_web_form_starts_an_ingest_and_shows_its_progress(rooted: Env, tmp_path: Path) -> None:
    env = rooted
    folder = tmp_path / "root" / "card"
    folder.mkdir()
    for seed in range(2):
        (folder / f"p{seed}.jpg").write_bytes(image(320 + seed))
    env.user("boss", "admin")
    env.user("ann")
    with TestClient(env.app, base_url="http://testserver") as client:
        csrf = env.login(client, "boss")
        r = client.post(
            "/cases", data={"name": "op", "agreement": "1", "csrf_token": csrf}, follow_redirects=False
        )
        assert r.status_code == 303
        page = client.get("/cases/1")
        assert 'id="ingest-form"' in page.text and "Nothing ingested yet" in page.text
        r = client.post("/cases/1/ingest", data={"path": "../", "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303 and "msg=" in r.headers["location"]
        assert "ingest+root" in r.headers["location"]
        r = client.post("/cases/1/ingest", data={"path": "card"}, follow_redirects=False)
        assert r.status_code == 403  # CSRF
        r = client.post("/cases/1/ingest", data={"path": "card", "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303
        page = client.get(r.headers["location"])
        assert "Ingest of card started." in page.text and "<progress" in page.text
        done = _wait_done(lambda: client.get("/cases/1/sources/1").json())
        assert (done["status"], done["files"]) == ("done", 2)
        assert ">2</td>" in client.get("/cases/1").text
    with TestClient(env.app, base_url="http://testserver") as client:
        csrf = env.login(client, "ann")  # reviewers see progress but start nothing
        assert 'id="ingest-form"' not in client.get("/cases/1").text
        assert client.get("/cases/1/sources/1").json()["status"] == "done"
        r = client.post("/cases/1/ingest", data={"path": "card", "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 403


def test_dashboard_downloads_the_vics_export_and_the_report(env: Env, tmp_path: Path) -> None:
    ids = _case(env, tmp_path, agreement=1)
    CaseService(env.store, env.settings, actor="user:ann").categorise("op", ids[:1], "1")
    env.user("ann")
    with TestClient(env.app, base_url="http://testserver") as client:
        env.login(client, "ann")
        page = client.get("/cases/1").text
        assert 'href="/cases/1/export.vics"' in page and 'href="/cases/1/report"' in page
        export = client.get("/cases/1/export.vics")
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
        assert len(json.loads(export.content)["value"]) == 1  # categorised items only
        assert len(json.loads(client.get("/cases/1/export.vics?all=1").content)["value"]) == 3
        report = client.get("/cases/1/report")
        assert report.status_code == 200 and "op" in report.text and "user:ann" in report.text
        assert "<img" not in report.text  # no pictures
        assert client.get("/cases/1/report?format=doc").status_code == 422
    api = env.client.get("/v1/cases/op/report", headers=env.key("review"))
    assert api.status_code == 200 and api.headers["content-type"].startswith("text/html")
    actions = _actions(env)
    assert actions.count("case.export") == 2 and actions.count("case.report") == 2
