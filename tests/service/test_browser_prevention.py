"""Prevention pages in headless Chromium (Debian's `chromium`, driven by Playwright): the
interstitial, the embeddable widget, the public directory search, the Trace-an-Object gallery and
tip form (proof of work in the page's script, rate limiting, script injection shown as text)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from svc_browser import Live, live_app, require_browser, sign_in
from svc_helpers import PASSWORD, image

from ohsc.accounts.service import AccountService
from ohsc.actor import LocalActor
from ohsc.settings import load_settings
from ohsc.web.prevention import prevention

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the module: only the last test sends tips (and meets the rate limit)."""
    settings = load_settings(
        home=tmp_path_factory.mktemp("prevention") / "home",
        apikey_cache_seconds=0,
        trace_tip_min_seconds=1,
        trace_pow_bits=16,
        trace_tips_per_hour=2,
    )
    with live_app(settings) as live:
        yield live


def _dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def on_dialog(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def _published(live: Live) -> str:
    p = prevention(live.app.state.services)
    ann, ben = (
        LocalActor("user:ann", frozenset({"investigator"})),
        LocalActor("user:ben", frozenset({"investigator"})),
    )
    obj = p.objects.create(ann, image(11), category="toys", question="Where is this toy sold?")
    p.objects.submit(ann, obj.id)
    p.objects.approve(ben, obj.id)
    return obj.public_id


def test_interstitial_page(live: Live, browser: Browser) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live.url + "/help/deterrence?locale=de&country=DE&context=search")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("html").get_attribute("dir") == "ltr"
    expect(page.locator("main h1")).to_have_text("Es gibt vertrauliche Hilfe")
    expect(page.locator("li.resource").first).to_be_visible()
    link = page.locator("a.go").first
    assert (link.get_attribute("href") or "").startswith("/v1/deterrence/go/")
    page.keyboard.press("Tab")  # the skip link comes first and is visible when focused
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    assert skip.evaluate("e => e.getBoundingClientRect().left") >= 0
    outline = skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
    assert errors == []


def test_widget_on_another_page(live: Live, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(live.url + "/health/live")  # any page; the widget frames the help box into it
    page.set_content(
        f'<html><body><h1>A forum</h1><div id="help"></div>'
        f'<script src="{live.url}/help/widget.js" data-locale="fr" data-country="BE" data-target="help"></script>'
        "</body></html>"
    )
    frame_el = page.locator("#help iframe")
    expect(frame_el).to_have_count(1)
    assert "/help/widget?locale=fr&country=BE" in (frame_el.get_attribute("src") or "")
    frame = page.frame_locator("#help iframe")
    expect(frame.locator("h1")).to_be_visible()
    assert frame.locator("html").get_attribute("lang") == "fr"
    expect(frame.locator("a.go").first).to_have_attribute("target", "_blank")


def test_directory_search_without_scripts(live: Live, browser: Browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live.url + "/help?locale=en")
    page.select_option("#f-country", "DE")
    page.select_option("#f-language", "de")
    page.get_by_role("button", name="Show services").click()
    page.wait_for_url(lambda u: "country=DE" in u)
    results = page.locator("#results")
    expect(results).to_contain_text("Kein Täter werden")
    expect(results).not_to_contain_text("NSPCC")
    page.select_option("#f-country", "GB")
    page.select_option("#f-language", "")
    page.select_option("#f-audience", "parents")
    page.get_by_role("button", name="Show services").click()
    expect(page.locator("#results")).to_contain_text("NSPCC")
    context.close()


def test_gallery_tip_injection_and_rate_limit(live: Live, browser: Browser) -> None:
    public_id = _published(live)
    page = browser.new_page()
    dialogs = _dialogs(page)
    page.goto(live.url + "/trace")
    expect(page.locator("ul.gallery img")).to_have_count(1)
    assert page.locator("ul.gallery img").evaluate("i => i.naturalWidth") > 0
    page.locator("ul.gallery a").first.click()
    page.wait_for_url(lambda u: f"/trace/o/{public_id}" in u)
    attack = '<script>alert("tip")</script><img src=x onerror="alert(2)">'
    page.fill("#tip", "Sold at the corner shop. " + attack)
    page.get_by_role("button", name="Send anonymously").click()
    expect(page.locator("#tip-sent")).to_contain_text("Thank you")

    # the investigator sees the tip as text, and nothing runs
    AccountService(live.store, live.app.state.services.settings).create_user("ivy", "investigator", PASSWORD)
    inbox = browser.new_page()
    dialogs_inbox = _dialogs(inbox)
    sign_in(inbox, "ivy", live.url + "/investigate/tips")
    assert inbox.url.endswith("/investigate/tips")
    expect(inbox.locator("td.tip-body").first).to_have_text("Sold at the corner shop. " + attack)
    expect(inbox.locator("td.tip-body img")).to_have_count(0)
    inbox.wait_for_timeout(300)
    assert dialogs == [] and dialogs_inbox == []

    # a second tip is allowed (two an hour here); the third gets the friendly 429 page
    page.goto(live.url + f"/trace/o/{public_id}")
    page.fill("#tip", "Also seen online.")
    page.get_by_role("button", name="Send anonymously").click()
    expect(page.locator("#tip-sent")).to_be_visible()
    page.goto(live.url + f"/trace/o/{public_id}")
    page.fill("#tip", "One more.")
    with page.expect_response(lambda r: r.url.endswith("/tips")) as answer:
        page.get_by_role("button", name="Send anonymously").click()
    assert answer.value.status == 429
    expect(page.locator("#rate-limited")).to_contain_text("Too many messages")
    assert dialogs == []
