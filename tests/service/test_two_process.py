"""Two server processes over one PostgreSQL stay consistent: changes made through one are
matched by the other within seconds, and claims never hand one item to both."""

from __future__ import annotations

import base64
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from svc_servers import ohsc_server

from ohsc import audit
from ohsc.accounts.service import AccountService
from ohsc.settings import load_settings
from ohsc.store.db import Store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _login(base: str, name: str, password: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=10.0)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert r.status_code in (200, 303), r.text
    review = client.get("/review")
    return client, review.text.split('data-csrf="', 1)[1].split('"', 1)[0]


def test_two_servers_one_postgres(pg_service_url: str, tmp_path: Path) -> None:
    from svc_helpers import empty_tables

    empty_tables(pg_service_url)
    home = tmp_path / "home"
    env = {
        "OHSC_HOME": str(home),
        "OHSC_DATABASE_URL": pg_service_url,
        "OHSC_CONTENT_KEY": base64.b64encode(os.urandom(32)).decode(),
        "OHSC_APIKEY_CACHE_SECONDS": "0",
    }
    settings = load_settings(home=home, database_url=pg_service_url, content_key=env["OHSC_CONTENT_KEY"])
    store = Store.from_settings(settings)
    accounts = AccountService(store, settings)
    key = accounts.create_api_key("platform", ["match", "bank-admin", "review"]).secret
    for name in ("r1", "r2"):
        accounts.create_user(name, "reviewer", "a long test password")
    headers = {"Authorization": f"Bearer {key}"}
    with ohsc_server(env, tmp_path / "a.log") as a, ohsc_server(env, tmp_path / "b.log") as b:
        assert httpx.post(f"{a.url}/v1/banks", json={"name": "shared"}, headers=headers).status_code == 201
        values = [f"{i + 1:032x}" for i in range(10)]
        r = httpx.post(
            f"{a.url}/v1/banks/shared/entries",
            json={"entries": [{"signal_type": "md5", "value": v} for v in values]},
            headers=headers,
        )
        assert r.json()["added"] == 10

        def matched_on_b(value: str) -> bool:
            return bool(
                httpx.post(f"{b.url}/v1/match", json={"signals": {"md5": value}}, headers=headers).json()[
                    "matched"
                ]
            )

        started = time.monotonic()
        while not matched_on_b(values[0]):
            assert time.monotonic() - started < 10, "process B never saw the add"
            time.sleep(0.2)
        for v in values[1:]:
            assert matched_on_b(v)
        httpx.post(
            f"{a.url}/v1/banks/shared/entries/md5:{values[0]}/retract",
            json={"reason": "test"},
            headers=headers,
        )
        started = time.monotonic()
        while matched_on_b(values[0]):
            assert time.monotonic() - started < 10, "process B never saw the retraction"
            time.sleep(0.2)

        # every match made a review item; two reviewers on two servers claim them all
        r1, csrf1 = _login(a.url, "r1", "a long test password")
        r2, csrf2 = _login(b.url, "r2", "a long test password")

        def drain(client: httpx.Client, csrf: str) -> list[int]:
            got: list[int] = []
            while True:
                r = client.post("/review/next", data={"csrf_token": csrf})
                location = r.headers.get("location", "")
                if "/review/items/" not in location:
                    return got
                item_id = int(location.rsplit("/", 1)[1])
                got.append(item_id)
                d = client.post(
                    f"/review/items/{item_id}/decide", data={"csrf_token": csrf, "decision": "not_abuse"}
                )
                assert d.status_code == 303, d.text

        with ThreadPoolExecutor(2) as pool:
            one, two = pool.submit(drain, r1, csrf1), pool.submit(drain, r2, csrf2)
            got1, got2 = one.result(120), two.result(120)
        r1.close()
        r2.close()
        assert not set(got1) & set(got2)
        items = httpx.get(f"{a.url}/v1/review-items?status=decided&limit=500", headers=headers).json()[
            "items"
        ]
        assert sorted(got1 + got2) == sorted(i["id"] for i in items)
        assert len(items) >= 10
        assert got1
        assert got2
    with store.session() as s:
        assert audit.verify(s).ok
    store.dispose()
