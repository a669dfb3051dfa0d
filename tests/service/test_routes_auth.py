"""Every route except health (and the login page and static files) requires authentication:
proven by walking all routes of the app, extensions included."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, FastAPI
from svc_helpers import Env

from ohsc.web.auth import allow_anonymous
from ohsc.web.routes import walk_routes

#: deliberately public: health checks and the login form (static files are a mount, not a route)
PUBLIC = {("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/login"), ("POST", "/login")}
#: deliberately public prevention pages: the click-counting redirect, the help pages and widget,
#: the Trace-an-Object gallery, pictures and anonymous tip form (docs/prevention.md)
PUBLIC |= {
    ("GET", "/v1/deterrence/go/{service_id}"),
    ("GET", "/help"),
    ("GET", "/help/deterrence"),
    ("GET", "/help/widget"),
    ("GET", "/help/widget.js"),
    ("GET", "/trace"),
    ("GET", "/trace/img/{public_id}"),
    ("GET", "/trace/img/{public_id}/thumb"),
    ("GET", "/trace/o/{public_id}"),
    ("POST", "/trace/o/{public_id}/tips"),
}
#: removal (docs/removal.md): the public URL report form and the splash page of blocking partners
PUBLIC |= {("GET", "/report-url"), ("POST", "/report-url"), ("GET", "/blocked")}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_needs_authentication(env: Env) -> None:
    extra = APIRouter()

    @extra.get("/extension/private")
    async def private() -> dict[str, str]:
        return {"leak": "yes"}

    def install(app: FastAPI, _services: object) -> None:
        app.include_router(extra)

    install(env.app, env.services)
    seen = 0
    routes = list(walk_routes(env.app))
    for route in routes:
        for method in sorted(route.methods - {"HEAD"}):
            public = (method, route.path) in PUBLIC
            assert public == route.public, f"{method} {route.path}: public marker mismatch"
            if public or route.path == "/extension/private":
                continue
            seen += 1
            r = env.client.request(method, _concrete(route.path), follow_redirects=False)
            if route.path.startswith("/v1/") or route.path == "/openapi.json":
                assert r.status_code == 401, f"{method} {route.path} answered {r.status_code} without a key"
                assert r.headers["content-type"] == "application/problem+json"
            else:
                assert r.status_code in (303, 401), f"{method} {route.path} answered {r.status_code}"
                if r.status_code == 303:
                    assert r.headers["location"].startswith("/login")
    assert seen >= 40
    # the unprotected extension route is exactly what the marker check catches
    unprotected = [r for r in routes if r.path == "/extension/private"]
    assert unprotected
    assert not unprotected[0].public
    assert not unprotected[0].dependant.dependencies


def test_health_is_public(env: Env) -> None:
    assert env.client.get("/health/live").json() == {"status": "ok"}
    ready = env.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_not_ready_until_indexes_load(tmp_path: object) -> None:
    from pathlib import Path

    from fastapi.testclient import TestClient

    from ohsc.settings import load_settings
    from ohsc.web.app import create_app

    app = create_app(load_settings(home=Path(str(tmp_path)) / "h"), background=False)
    with TestClient(app) as client:
        assert client.get("/health/ready").status_code == 503
        key = app.state.services.accounts.create_api_key("k", ["match"]).secret
        r = client.post(
            "/v1/match", json={"signals": {"md5": "0" * 32}}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 503
        assert r.json()["code"] == "not_ready"
        app.state.services.load_indexes()
        assert client.get("/health/ready").status_code == 200


def test_openapi_and_docs_need_a_login_or_key(env: Env) -> None:
    assert env.client.get("/openapi.json").status_code == 401
    spec = env.client.get("/openapi.json", headers=env.key("match")).json()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert spec["paths"]["/v1/match"]["post"]["security"] == [{"apiKey": []}]
    assert "/v1/match" in spec["paths"]
    assert "/v1/review-items/{item_id}/decision" in spec["paths"]
    assert env.client.get("/docs", follow_redirects=False).status_code == 303
    env.user("doc-reader")
    env.login(env.client, "doc-reader")
    page = env.client.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in page.text
    assert env.client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert "cdn" not in page.text.lower()


def test_public_marker_is_reusable(env: Env) -> None:
    router = APIRouter()

    @router.get("/extension/public", dependencies=[Depends(allow_anonymous)])
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    env.app.include_router(router)
    route = next(r for r in walk_routes(env.app) if r.path == "/extension/public")
    assert route.public
