"""Triage cases over the API and in the pages: list, stats, grid items, categorise with the
agreement rule, VICS export, blurred previews, and reveals that count against the review queue's
exposure budget."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from svc_helpers import Env, image

from ohsc.cases.service import CaseService


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
