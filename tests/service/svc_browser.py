"""What the browser tests share: Debian's chromium driven by Playwright (never a browser that
Playwright downloads), and the app served by uvicorn on a loopback port in a thread."""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from svc_helpers import PASSWORD, image
from svc_servers import free_port

from ohsc.settings import Settings
from ohsc.store.db import Store

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = (
    os.environ.get("OHSC_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None


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


class _Shared:
    """One headless chromium for a run of browser tests: launching one costs seconds of CPU."""

    playwright: Any = None
    browser: Browser | None = None


def shared_browser() -> Browser:
    """Headless Debian chromium, launched on first use and kept until :func:`close_shared_browser`.
    Each test gets fresh contexts (cookies, storage) from it; the ``browser`` fixture closes them."""
    if _Shared.browser is not None and _Shared.browser.is_connected():
        return _Shared.browser
    close_shared_browser()
    from playwright.sync_api import sync_playwright

    _Shared.playwright = sync_playwright().start()
    _Shared.browser = _Shared.playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
    )
    return _Shared.browser


def close_shared_browser() -> None:
    """Close the shared chromium and its driver. While Playwright's sync API is open the main
    thread counts as inside an event loop (``asyncio.run`` refuses), so this runs before any test
    that does not use the browser."""
    browser, playwright = _Shared.browser, _Shared.playwright
    _Shared.browser = _Shared.playwright = None
    try:
        if browser is not None and browser.is_connected():
            browser.close()
    finally:
        if playwright is not None:
            playwright.stop()


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


def sign_in(page: Page, name: str, start: str) -> Page:
    """Log ``name`` in with the test password: open ``start`` (the login page, or a page that
    sends there), fill in the form, press Enter and wait until the browser has left the login
    page."""
    page.goto(start)
    page.wait_for_url(lambda u: "/login" in u)
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login" not in u)
    return page


def signed_in(browser: Browser, live: Live, name: str, **context: Any) -> Page:
    """A page in a new browser context (``context``: its options) with ``name`` logged in."""
    return sign_in(browser.new_context(**context).new_page(), name, live.url + "/login")


def seed_review_items(live: Live, seeds: list[int], policy: dict[str, Any] | None = None) -> list[int]:
    """Bank ``known`` holds the pictures of ``seeds`` (with ``policy``); matching each again
    queues one review item: their ids, in order."""
    from fastapi.testclient import TestClient

    services = live.app.state.services
    key = services.accounts.create_api_key("t", ["match", "bank-admin"]).secret
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(live.app) as client:  # same app and store, without going over the network
        assert client.post("/v1/banks", json={"name": "known"}, headers=headers).status_code == 201
        if policy:
            assert client.put("/v1/banks/known/policy", json=policy, headers=headers).status_code == 200
        for seed in seeds:
            r = client.post(
                "/v1/banks/known/entries", files={"file": ("x.jpg", image(seed))}, headers=headers
            )
            assert r.status_code == 200, r.text
        services.matcher.refresh()
        return [
            int(
                client.post("/v1/match", files={"file": ("u.jpg", image(seed))}, headers=headers).json()[
                    "review_item_id"
                ]
            )
            for seed in seeds
        ]


def new_user_page(live: Live, browser: Browser, name: str, role: str) -> Page:
    """A user ``name`` with ``role``, logged in on a desktop-sized page of their own."""
    live.app.state.services.accounts.create_user(name, role, PASSWORD)
    return signed_in(browser, live, name, viewport={"width": 1280, "height": 900})


def screenshot(page: Page, name: str) -> None:
    """With ``SCREENSHOTS_DIR`` set, the whole page as ``name`` there (docs/img holds the ones the
    docs show)."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)
