"""The review UI in headless Chromium (Debian's `chromium`, driven by Playwright; never a downloaded
browser): log in, review with the keyboard, media stay blurred until revealed, no decision before
the item is on screen, queue and item keys never collide, undo, CSRF, session expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from svc_browser import Live, live_app, require_browser, seed_review_items, sign_in
from svc_helpers import PASSWORD

from ohsc.accounts.models import WebSessionRow
from ohsc.accounts.service import AccountService
from ohsc.review.models import MediaRevealRow, ReviewDecisionRow
from ohsc.settings import load_settings

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

#: the arming time of the test that presses keys while an item arms: long enough to press them
SLOW_ARM_MS = 2500
#: the least arming time there is: the other tests only wait for it
ARM_MS = 300


def _served(tmp_path: Path, arm_ms: int) -> Iterator[Live]:
    settings = load_settings(
        home=tmp_path / "home", apikey_cache_seconds=0, review_break_after_reveals=100, review_arm_ms=arm_ms
    )
    with live_app(settings) as live:
        yield live


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    yield from _served(tmp_path, ARM_MS)


@pytest.fixture
def slow_arming(tmp_path: Path) -> Iterator[Live]:
    yield from _served(tmp_path, SLOW_ARM_MS)


def _seed(live: Live, n: int) -> list[int]:
    AccountService(live.store, live.app.state.services.settings).create_user("rita", "reviewer", PASSWORD)
    return seed_review_items(live, [100 + seed for seed in range(n)])


def _login(page: Page, live: Live) -> None:
    sign_in(page, "rita", live.url + "/review")
    expect(page.locator("h1")).to_have_text("Review queue")


def _filter(page: Page) -> str:
    return str(page.locator("#media").evaluate("e => getComputedStyle(e).filter"))


def _ready(page: Page, item_id: int) -> None:
    """The item is on screen and its decision keys are armed (the address bar names it)."""
    expect(page.locator("#item")).to_have_attribute("data-item", str(item_id))
    expect(page.locator("#arming")).to_have_attribute("data-state", "ready", timeout=SLOW_ARM_MS + 10_000)
    assert page.url.endswith(f"/review/items/{item_id}")


def _decisions(live: Live) -> dict[int, tuple[str, bool]]:
    with live.store.session() as s:
        return {r.item_id: (r.decision, r.viewed_unblurred) for r in s.query(ReviewDecisionRow)}


def test_review_with_the_keyboard_blurred_until_revealed(live: Live, browser: Browser) -> None:
    items = _seed(live, 4)
    page = browser.new_page()
    media_requests: list[str] = []
    page.on("request", lambda r: media_requests.append(r.url) if "/media" in r.url else None)
    _login(page, live)
    page.keyboard.press("n")  # review next
    expect(page).to_have_url(f"{live.url}/review/items/{items[0]}")
    _ready(page, items[0])
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

    page.keyboard.press("1")  # confirm: on to the next item
    _ready(page, items[1])
    expect(page.locator("#media")).to_have_class("blurred")
    page.keyboard.press("2")  # not abuse, without looking
    _ready(page, items[2])
    page.keyboard.press("3")  # escalate
    _ready(page, items[3])
    page.keyboard.press("4")  # skip: nothing else for this reviewer
    expect(page.locator("h1")).to_have_text("Review queue")
    expect(page.locator(".flash")).to_contain_text("Nothing left")

    assert _decisions(live) == {
        items[0]: ("confirm", True),
        items[1]: ("not_abuse", False),
        items[2]: ("escalate", False),
        items[3]: ("skip", False),
    }
    with live.store.session() as s:  # each reveal ended ("B", letting go of "H", or the decision)
        ends = [
            (r.mode, r.hidden_at is not None) for r in s.query(MediaRevealRow).order_by(MediaRevealRow.id)
        ]
    assert ends == [("click", True), ("hold", True)]


def test_no_decision_before_the_item_is_on_screen(slow_arming: Live, browser: Browser) -> None:
    """The old trap: N on the queue opened an item and a second N decided it "not abuse" unseen."""
    live = slow_arming
    items = _seed(live, 2)
    page = browser.new_page()
    _login(page, live)
    page.keyboard.press("n")
    page.keyboard.press("n")  # a double press: only opens the item
    for key in ("1", "2", "3", "4", "n", "Enter"):  # keys while the item arrives or arms
        page.keyboard.press(key)
    page.wait_for_url(f"{live.url}/review/items/{items[0]}")
    expect(page.locator("#item")).to_be_visible()
    for key in ("1", "2", "3", "4", "n"):
        page.keyboard.press(key)
    arming = page.locator("#arming")
    assert arming.get_attribute("data-state") == "waiting"  # still arming: shown on screen
    expect(arming).to_contain_text("keys pressed before are ignored")
    expect(page.get_by_role("button", name="Not abuse")).to_be_disabled()
    assert _decisions(live) == {}
    _ready(page, items[0])  # nothing was queued: the item stays, undecided
    page.wait_for_timeout(300)
    assert page.url.endswith(f"/review/items/{items[0]}")
    assert _decisions(live) == {}
    page.keyboard.press("2")  # now deliberate
    _ready(page, items[1])
    assert _decisions(live) == {items[0]: ("not_abuse", False)}


def _keys(page: Page) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        "() => Object.fromEntries(Array.from(document.querySelectorAll('[data-key]'))"
        ".map(e => [e.dataset.key, e.dataset.action]))"
    )
    return found


def test_queue_and_item_keys_never_collide(live: Live, browser: Browser) -> None:
    items = _seed(live, 3)
    page = browser.new_page()
    _login(page, live)
    queue_keys = _keys(page)
    expect(page.locator("#key-legend")).to_contain_text("N")
    page.keyboard.press("n")
    _ready(page, items[0])
    page.keyboard.press("2")
    _ready(page, items[1])  # the next item, with the undo offer for the first
    item_keys = _keys(page)
    expect(page.locator("#key-legend")).to_contain_text("1")
    assert {"1", "2", "3", "4", "r", "b", "u"} <= set(item_keys)
    assert {"n", "/"} <= set(queue_keys)
    decisions = {"confirm", "not_abuse", "escalate", "skip"}
    assert not decisions & set(queue_keys.values())  # no decision on the queue
    assert "next" not in item_keys.values()
    for key in set(queue_keys) & set(item_keys):
        assert queue_keys[key] == item_keys[key], f"key {key} means two things"
    page.goto(live.url + "/review")
    assert set(_keys(page)) & {"1", "2", "3", "4"} == set()


def test_undo_the_last_decision_from_the_next_page(live: Live, browser: Browser) -> None:
    items = _seed(live, 2)
    page = browser.new_page()
    _login(page, live)
    page.keyboard.press("n")
    _ready(page, items[0])
    page.fill("textarea[name=note]", "looks like a holiday photo")
    page.locator("body").click()  # out of the note: keys act again
    page.keyboard.press("2")
    _ready(page, items[1])
    undo = page.locator("#undo")
    expect(undo).to_contain_text(f"item #{items[0]}")
    expect(undo).to_contain_text("not abuse")
    page.keyboard.press("u")
    _ready(page, items[0])  # back on screen, the address bar names it
    expect(page.locator(".flash")).to_contain_text("undone")
    expect(page.locator("#undo")).to_have_count(0)  # an undo is not undone again
    history = page.locator("#history")
    expect(history).to_contain_text("not abuse")
    expect(history).to_contain_text("undone at")
    expect(history).to_contain_text("Note: looks like a holiday photo")
    expect(history.locator("li.undone")).to_have_count(1)
    with live.store.session() as s:
        [first, undo_row] = s.query(ReviewDecisionRow).order_by(ReviewDecisionRow.id).all()
        assert first.undone_at is not None
        assert undo_row.decision == "undo"
    page.keyboard.press("1")
    _ready(page, items[1])


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
