"""The web app: ``create_app(settings)`` builds the FastAPI application of one server process.

Routes: ``/v1/...`` (the JSON API, API keys), ``/login``, ``/review``, ``/audit`` (the review UI,
sessions), ``/health/live`` and ``/health/ready`` (public), ``/openapi.json`` and ``/docs``
(logged-in users or API keys). Other packages add theirs through :mod:`ohsc.web.extensions`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from ohsc import __version__
from ohsc.actions.webhooks import Dispatcher
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store
from ohsc.web import extensions as ext
from ohsc.web import problems
from ohsc.web.auth import AnyUser, UserOrClient, allow_anonymous
from ohsc.web.background import error_name
from ohsc.web.bodies import BodyGuard
from ohsc.web.fastpath import MatchFastPath
from ohsc.web.prevention import flush_counters
from ohsc.web.schedule import new_jobs, readiness, start_background
from ohsc.web.security import SecurityHeaders
from ohsc.web.services import Services

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")


def _swagger_dir() -> Path | None:
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


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    extensions: Sequence[ext.Extension] = (),
    background: bool = True,
    load_in_thread: bool = True,
) -> FastAPI:
    """The application of one server process.

    ``background=False`` starts no threads and loads no indexes (tests then call
    ``app.state.services.load_indexes()`` and ``matcher.refresh()`` themselves).
    """
    settings = settings or load_settings()
    services = Services.open(settings, store)
    jobs = new_jobs(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        election = start_background(services, jobs, load_in_thread=load_in_thread) if background else None
        try:
            yield
        finally:
            jobs.stop()
            if election is not None:
                election.release()
            try:
                flush_counters(services)
            except Exception:
                log.exception("could not write the prevention counters")
            services.writer.close()
            dispatcher = services.extras.pop("dispatcher", None)
            if isinstance(dispatcher, Dispatcher):
                dispatcher.close()
            if store is None:
                services.store.dispose()

    app = FastAPI(
        title="OHSC",
        version=__version__,
        summary="Online Harms Safety Centre: match content against hash banks, act, review, report.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.state.jobs = jobs
    problems.install(app)
    # the last added is the outermost: SecurityHeaders, BodyGuard, MatchFastPath, then the router
    app.add_middleware(MatchFastPath)
    app.add_middleware(BodyGuard)  # caps and authenticates request bodies before anything reads them
    app.add_middleware(SecurityHeaders)

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

    from ohsc.web.api import router as api_router
    from ohsc.web.ui import router as ui_router

    app.include_router(api_router)  # first: /v1/match is the hot path and routes match in order
    app.include_router(ui_router)
    swagger = _swagger_dir()
    if swagger is not None:  # before /static, which would otherwise answer for it
        app.mount("/static/swagger", StaticFiles(directory=swagger), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    for install in [*ext.discover(), *extensions]:
        install(app, services)

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory ohsc.web.app:app_from_env`` (settings from OHSC_*)."""
    logging.basicConfig(level=load_settings().log_level.upper())
    return create_app()
