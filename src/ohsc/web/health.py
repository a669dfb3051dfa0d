"""Routes every OHSC server has besides the API and the pages: health (public) and the API's
documentation (``/openapi.json``, ``/docs``: logged-in users or API keys)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from ohsc.web.auth import AnyUser, UserOrClient, allow_anonymous
from ohsc.web.background import Jobs, error_name
from ohsc.web.schedule import readiness
from ohsc.web.services import Services


def swagger_dir() -> Path | None:
    """Swagger UI 5 as bundled by the ``fastapi-offline`` package (served locally, no CDN)."""
    try:
        static = files("fastapi_offline") / "static"
    except ModuleNotFoundError:
        return None
    return Path(str(static)) if static.joinpath("swagger-ui-bundle.js").is_file() else None


def _with_security(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the API-key scheme (the routes check keys themselves, so FastAPI cannot know)."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An OHSC API key (`ohsc apikey create NAME --scope ...`), as `Authorization: Bearer ohsc_...`.",
    }
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                operation["security"] = [{"apiKey": []}]
    return schema


def install_health(app: FastAPI, services: Services, jobs: Jobs) -> None:
    """``/health/live`` and ``/health/ready`` (public)."""

    @app.get("/health/live", tags=["health"], dependencies=[Depends(allow_anonymous)])
    async def live() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/health/ready", tags=["health"], dependencies=[Depends(allow_anonymous)])
    async def ready() -> JSONResponse:
        """Indexes loaded, the database answers, no critical job failing (503 otherwise); every
        background job's state, and what is failing (``problems``: job, error, next retry)."""
        status, body = readiness(services, jobs)
        if status != 200:
            return JSONResponse(body, status_code=status)

        def ping() -> None:
            with services.store.session() as s:
                s.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception as exc:
            problem = {"component": "database", "error": error_name(exc), "critical": True}
            body["problems"] = [problem, *body["problems"]]
            return JSONResponse(
                {**body, "status": "unavailable", "detail": type(exc).__name__}, status_code=503
            )
        return JSONResponse(body)


def install_docs(app: FastAPI) -> None:
    """``/openapi.json`` and ``/docs`` (Swagger UI served locally)."""

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_who: UserOrClient) -> dict[str, Any]:
        return _with_security(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs(_user: AnyUser) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="OHSC API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )
