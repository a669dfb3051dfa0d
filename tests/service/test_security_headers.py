"""Every response carries the security headers: pages, problems, refusals before routing, and
500s from unhandled exceptions (which Starlette answers outside the app's middleware)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from svc_helpers import Env, make_env

from ohsc.settings import load_settings
from ohsc.web.auth import allow_anonymous

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}


def _crash_routes(app: FastAPI, _services: object) -> None:
    router = APIRouter()

    @router.get("/v1/test-crash", dependencies=[__import__("fastapi").Depends(allow_anonymous)])
    async def api_crash() -> None:
        raise RuntimeError("boom (API)")

    @router.get("/test-crash", dependencies=[__import__("fastapi").Depends(allow_anonymous)])
    async def ui_crash(request: Request) -> None:
        raise RuntimeError("boom (UI)")

    app.include_router(router)


@pytest.fixture
def crash_env(tmp_path: Path) -> Iterator[Env]:
    settings = load_settings(home=tmp_path / "home", apikey_cache_seconds=0)
    yield from make_env(settings, extensions=(_crash_routes,))


def _check(headers: object) -> None:
    h = dict(headers)  # type: ignore[call-overload]
    for name, value in EXPECTED.items():
        assert h.get(name) == value, (name, h.get(name))
    assert "default-src 'self'" in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]


def test_unhandled_exceptions_answer_500_with_the_security_headers(
    crash_env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(crash_env.app, raise_server_exceptions=False)
    api = client.get("/v1/test-crash")
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "internal" and "boom" not in api.text
    _check(api.headers)
    page = client.get("/test-crash")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "boom" not in page.text
    _check(page.headers)
    assert "boom (API)" in caplog.text and "boom (UI)" in caplog.text  # the log has the details


def test_ordinary_answers_keep_their_headers(crash_env: Env) -> None:
    client = TestClient(crash_env.app, raise_server_exceptions=False)
    for path in ("/login", "/nowhere", "/v1/nowhere", "/v1/banks"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code in (200, 401, 404), (path, r.status_code)
        _check(r.headers)
