"""The console's figures in headless Chromium (Debian's `chromium`, driven by Playwright): an
admin searches the match log and follows a row to its review item, reads the dashboard's charts
and the transparency report, filters the audit log; a reviewer gets 403 on the dashboard and the
transparency report and sees no link to them.

``SCREENSHOTS_DIR=docs/img`` saves the pictures docs/web.md shows (benign, invented data)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from figures_data import build
from svc_browser import Live, live_app, new_user_page, require_browser, screenshot
from svc_helpers import Env

from ohsc.settings import load_settings

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, expect  # noqa: E402


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with live_app(load_settings(home=tmp_path / "home", apikey_cache_seconds=0)) as live:
        yield live


def test_admin_uses_the_figures_and_a_reviewer_cannot(live: Live, browser: Browser, tmp_path: Path) -> None:
    services = live.app.state.services
    env = Env(settings=services.settings, store=live.store, app=live.app, client=TestClient(live.app))
    build(env, tmp_path)
    page = new_user_page(live, browser, "ada", "admin")
    page.get_by_role("link", name="Matches", exact=True).click()
    rows = page.locator("#matches tbody tr")
    expect(rows.first).to_be_visible()
    form = page.locator("#match-filters")
    form.locator("input[name=hash]").fill(f"{0xB1:032x}")
    form.locator("select[name=verdict]").select_option("review")
    form.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("beta")
    screenshot(page, "console-matches.png")
    rows.first.locator("a.review-link").click()
    page.wait_for_url(lambda u: "/review/items/" in u)
    expect(page.locator("body")).to_contain_text("beta")

    page.get_by_role("link", name="Dashboard", exact=True).click()
    for chart in ("queue-chart", "decisions-chart", "exposure-chart", "times-chart", "matches-chart"):
        expect(page.locator(f"svg#{chart}")).to_be_visible()
    expect(page.locator('#exposure-table tr[data-reviewer="alice"] .reveals')).to_have_text("2")
    screenshot(page, "console-dashboard.png")

    page.get_by_role("link", name="Transparency", exact=True).click()
    expect(
        page.locator('#figures tr[data-metric="decisions"][data-dimension="confirm"] .value')
    ).to_have_text("3")
    expect(page.locator("#definitions")).to_contain_text("Matches recorded in the period")
    screenshot(page, "console-transparency.png")

    page.get_by_role("link", name="Audit log", exact=True).click()
    filters = page.locator("#audit-filters")
    filters.locator("input[name=action]").fill("media.reveal")
    filters.locator("input[name=actor]").fill("user:alice")
    filters.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-events tbody tr")).to_have_count(2)
    expect(page.locator("#audit-events tbody tr").first).to_contain_text("alice (user): Media revealed")
    page.locator("#verify-chain").click()
    expect(page.locator("#verify")).to_contain_text("Intact")
    screenshot(page, "console-audit.png")

    reviewer = new_user_page(live, browser, "rita", "reviewer")
    expect(reviewer.get_by_role("link", name="Dashboard", exact=True)).to_have_count(0)
    for path in ("/dashboard", "/transparency", "/matches"):
        response = reviewer.goto(live.url + path)
        assert response is not None and response.status == 403, path
