"""The review UI in headless Chromium (Debian's `chromium`, driven by Playwright; never a downloaded
browser): log in, review with the keyboard, media stay blurred until revealed, CSRF, session expiry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from svc_browser import chromium, require_browser, serve
from svc_helpers import PASSWORD, image

from ohsc.accounts.models import WebSessionRow
from ohsc.accounts.service import AccountService
from ohsc.review.models import ReviewDecisionRow
from ohsc.settings import load_settings
from ohsc.store.db import Store

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@dataclass
class Live:
    url: str
    app: Any
    store: Store


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    from ohsc.web.app import create_app

    settings = load_settings(home=tmp_path / "home", apikey_cache_seconds=0, review_break_after_reveals=100)
    store = Store.from_settings(settings)
    app = create_app(settings, store=store, load_in_thread=False)
    try:
        with serve(app) as url:
            yield Live(url, app, store)
    finally:
        store.dispose()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _seed(live: Live, n: int) -> list[int]:
    from fastapi.testclient import TestClient

    services = live.app.state.services
    AccountService(live.store, services.settings).create_user("rita", "reviewer", PASSWORD)
    key = services.accounts.create_api_key("t", ["match", "bank-admin"]).secret
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(live.app) as client:  # same app and store, without going over the network
        client.post("/v1/banks", json={"name": "known"}, headers=headers)
        for seed in range(n):
            client.post(
                "/v1/banks/known/entries", files={"file": ("x.jpg", image(100 + seed))}, headers=headers
            )
        services.matcher.refresh()
        return [
            client.post("/v1/match", files={"file": ("u.jpg", image(100 + seed))}, headers=headers).json()[
                "review_item_id"
            ]
            for seed in range(n)
        ]


def _login(page: Page, live: Live) -> None:
    page.goto(live.url + "/review")
    page.wait_for_url(lambda u: "/login" in u)
    page.fill("input[name=name]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Review queue")


def _filter(page: Page) -> str:
    return str(page.locator("#media").evaluate("e => getComputedStyle(e).filter"))


def test_review_with_the_keyboard_blurred_until_revealed(live: Live, browser: Browser) -> None:
    items = _seed(live, 4)
    page = browser.new_page()
    media_requests: list[str] = []
    page.on("request", lambda r: media_requests.append(r.url) if "/media" in r.url else None)
    _login(page, live)
    page.keyboard.press("n")  # review next
    expect(page).to_have_url(f"{live.url}/review/items/{items[0]}")
    media = page.locator("#media")
    expect(media).to_have_class("blurred")
    assert media.get_attribute("src") == f"/review/items/{items[0]}/preview"
    assert "blur" in _filter(page)
    assert "grayscale" in _filter(page)
    assert media_requests == []  # nothing unblurred was fetched
    forbidden = page.request.get(f"{live.url}/review/items/{items[0]}/media")
    assert forbidden.status == 403

    page.keyboard.press("r")  # reveal on click (key)
    expect(media).to_have_attribute("data-revealed", "1")
    assert "/media?grant=" in (media.get_attribute("src") or "")
    assert _filter(page) == "none"
    expect(page.locator("#exposure")).to_contain_text("Media views today: 1")  # counted at once
    page.keyboard.press("b")  # blur again
    expect(media).to_have_attribute("data-revealed", "0")
    assert "blur" in _filter(page)
    page.keyboard.down("h")  # hold to view
    expect(media).to_have_attribute("data-revealed", "1")
    page.keyboard.up("h")
    expect(media).to_have_attribute("data-revealed", "0")
    assert "blur" in _filter(page)

    page.keyboard.press("c")  # confirm: on to the next item
    expect(page).to_have_url(f"{live.url}/review/items/{items[1]}")
    expect(page.locator("#media")).to_have_class("blurred")
    page.keyboard.press("n")  # not abuse, without looking
    expect(page).to_have_url(f"{live.url}/review/items/{items[2]}")
    page.keyboard.press("e")  # escalate
    expect(page).to_have_url(f"{live.url}/review/items/{items[3]}")
    page.keyboard.press("s")  # skip: nothing else for this reviewer
    expect(page.locator("h1")).to_have_text("Review queue")
    expect(page.locator(".flash")).to_contain_text("Nothing left")

    with live.store.session() as s:
        rows = {r.item_id: (r.decision, r.viewed_unblurred) for r in s.query(ReviewDecisionRow)}
    assert rows == {
        items[0]: ("confirm", True),
        items[1]: ("not_abuse", False),
        items[2]: ("escalate", False),
        items[3]: ("skip", False),
    }


def test_csrf_and_session_expiry(live: Live, browser: Browser) -> None:
    items = _seed(live, 1)
    context = browser.new_context()
    page = context.new_page()
    _login(page, live)
    # a request carrying the session cookie but not the form token (what a forged form would send)
    forged = context.request.post(f"{live.url}/review/items/{items[0]}/claim", form={"csrf_token": "forged"})
    assert forged.status == 403
    no_token = context.request.post(f"{live.url}/review/items/{items[0]}/reveal", form={"mode": "click"})
    assert no_token.status == 403
    with live.store.session() as s:
        assert s.query(ReviewDecisionRow).count() == 0
    settings = live.app.state.services.settings
    with live.store.session() as s:
        for row in s.query(WebSessionRow):
            row.last_seen_at = row.last_seen_at - timedelta(minutes=settings.session_idle_minutes + 1)
    page.keyboard.press("n")
    page.wait_for_url(lambda u: "/login" in u and "expired=1" in u)
    expect(page.locator(".flash")).to_contain_text("expired")
    context.close()
