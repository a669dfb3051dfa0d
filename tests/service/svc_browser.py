"""What the browser tests share: Debian's chromium driven by Playwright (never a browser that
Playwright downloads), and the app served by uvicorn on a loopback port in a thread."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from svc_servers import free_port

from ohsc.settings import Settings
from ohsc.store.db import Store

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = (
    os.environ.get("OHSC_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
try:
    import playwright.sync_api  # noqa: F401

    HAVE_PLAYWRIGHT = True
except ImportError:  # pragma: no cover
    HAVE_PLAYWRIGHT = False


def require_browser() -> None:
    """Skip the calling test module when there is no chromium or no playwright."""
    if CHROMIUM is None or not HAVE_PLAYWRIGHT:
        pytest.skip(
            "browser tests need Debian's chromium (apt-get install chromium) and playwright; "
            ".ci/run installs them",
            allow_module_level=True,
        )


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on a free loopback port until the block ends; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@dataclass
class Live:
    """The app served on a loopback port: its address, the app and its store."""

    url: str
    app: Any
    store: Store


@contextmanager
def live_app(settings: Settings, prepare: Callable[[Store], None] | None = None) -> Iterator[Live]:
    """A fresh store and app on ``settings``, served until the block ends; ``prepare`` fills the
    store before the app is made."""
    from ohsc.web.app import create_app

    store = Store.from_settings(settings)
    if prepare is not None:
        prepare(store)
    app = create_app(settings, store=store, load_in_thread=False)
    try:
        with serve(app) as url:
            yield Live(url, app, store)
    finally:
        store.dispose()
