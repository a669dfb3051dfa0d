"""The web app: ``create_app(settings)`` builds the FastAPI application of one server process.

Routes: ``/v1/...`` (the JSON API, API keys), ``/login``, ``/review``, ``/audit`` (the review UI,
sessions), ``/health/live`` and ``/health/ready`` (public), ``/openapi.json`` and ``/docs``
(logged-in users or API keys). Other packages add theirs through :mod:`ohsc.web.extensions`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ohsc import __version__
from ohsc.actions.webhooks import Dispatcher
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store
from ohsc.web import extensions as ext
from ohsc.web import problems
from ohsc.web.bodies import BodyGuard
from ohsc.web.fastpath import MatchFastPath
from ohsc.web.health import install_docs, install_health, swagger_dir
from ohsc.web.prevention import flush_counters
from ohsc.web.schedule import new_jobs, start_background
from ohsc.web.security import SecurityHeaders
from ohsc.web.services import Services

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")


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
            services.tasks.wait()
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

    install_health(app, services, jobs)
    install_docs(app)

    from ohsc.web.api import router as api_router
    from ohsc.web.ui import router as ui_router

    app.include_router(api_router)  # first: /v1/match is the hot path and routes match in order
    app.include_router(ui_router)
    swagger = swagger_dir()
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
