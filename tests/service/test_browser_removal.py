"""Removal pages in headless Chromium (Debian's `chromium`, driven by Playwright): the public URL
report form (the proof of work runs in the page's script) and the removal-time dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from svc_browser import Live, live_app, require_browser, sign_in
from svc_helpers import PASSWORD

from ohsc.accounts.service import AccountService
from ohsc.removal.frontier import Frontier
from ohsc.removal.models import TakedownRow
from ohsc.settings import load_settings
from ohsc.store.types import utcnow

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, expect  # noqa: E402


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the module: one test reports a URL, the other reads removal times."""
    settings = load_settings(
        home=tmp_path_factory.mktemp("removal") / "home",
        apikey_cache_seconds=0,
        trace_tip_min_seconds=1,
        trace_pow_bits=16,
    )
    with live_app(settings) as live:
        yield live


def test_public_report_form(live: Live, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(live.url + "/report-url")
    page.fill("#url", "https://files.example.net/album/42")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#report-sent")).to_contain_text("Thank you")
    settings = live.app.state.services.settings
    [url] = Frontier(live.store, settings).list_urls()
    assert (url.url, url.sources, url.state) == ("https://files.example.net/album/42", ("public",), "queued")
    # an internal address is refused with a message, and the form keeps what was typed
    page.fill("#url", "http://192.168.1.1/admin")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#report-error")).to_contain_text("not on the public internet")
    expect(page.locator("#url")).to_have_value("http://192.168.1.1/admin")


def test_dashboard(live: Live, browser: Browser) -> None:
    now = utcnow()
    with live.store.session() as s:
        for i, (host, hours) in enumerate([("a.example", 5.0), ("a.example", 40.0), ("b.example", 80.0)]):
            s.add(
                TakedownRow(
                    url_key=f"{i:064d}", url=f"http://{host}/{i}.jpg", page_url="", host=host, bank="known",
                    status="removed", first_seen_at=now - timedelta(days=5), first_notice_at=now - timedelta(days=5),
                    removal_seconds=hours * 3600, country="DE" if host == "a.example" else "FR",
                    network="NET", notices_sent=1, checks=1, escalated=False,
                )
            )  # fmt: skip
    AccountService(live.store, live.app.state.services.settings).create_user("rita", "reviewer", PASSWORD)
    page = sign_in(browser.new_page(), "rita", live.url + "/removal")
    assert "/removal" in page.url
    expect(page.locator("h1")).to_have_text("Removal times")
    row = page.locator('tr[data-group="a.example"] td')
    expect(row.nth(1)).to_have_text("2")
    expect(row.nth(4)).to_have_text("5.0")
    page.select_option("#by", "country")
    page.get_by_role("button", name="Show").click()
    expect(page.locator('tr[data-group="FR"] td').nth(8)).to_have_text("0%")
    with page.expect_download() as download:
        page.click("#stats-csv")
    text = Path(download.value.path()).read_text()
    assert text.startswith("group,notified") and "DE,2,2,0" in text
