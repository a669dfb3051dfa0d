"""The administration pages in headless Chromium, end to end as an admin: users and roles, an API
key shown once then used and revoked, a rule (and a refused one), a webhook delivering a test
event to a loopback receiver, an exchange added and synced from this node's own feed; and a
reviewer who sees none of it. With ``OHSC_SCREENSHOTS=DIR`` the pages are saved there as PNGs
(docs/img holds the ones docs/web.md shows)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from svc_browser import Live, live_app, require_browser, signed_in
from svc_helpers import PASSWORD
from svc_loopback import loopback_server

from ohsc.accounts.roles import Role
from ohsc.banks.model import EntryInput
from ohsc.settings import load_settings
from ohsc.web.services import Services

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

SHOTS = os.environ.get("OHSC_SCREENSHOTS")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the module: its tests touch different users, keys and banks."""
    home = tmp_path_factory.mktemp("admin") / "home"
    settings = load_settings(home=home, apikey_cache_seconds=60, egress_allow="127.0.0.1/32")
    with live_app(settings) as live:
        services: Services = live.app.state.services
        services.accounts.create_user("root", Role.ADMIN, PASSWORD)
        services.accounts.create_user("rita", Role.REVIEWER, PASSWORD)
        yield live


def _login(browser: Browser, live: Live, name: str) -> Page:
    page = signed_in(browser, live, name, viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda d: d.accept())  # the data-confirm questions
    return page


def _admin_section(page: Page, label: str) -> None:
    """Through the top bar's one Admin link, then the administration index."""
    page.click("header nav >> text=Admin")
    page.click(f'#admin-sections a:has-text("{label}")')


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"admin-{name}.png"), full_page=True)


def test_users_and_keys(live: Live, browser: Browser) -> None:
    page = _login(browser, live, "root")
    _admin_section(page, "Users")
    expect(page.locator("h1")).to_have_text("Users")
    page.fill("#new-name", "ada")
    page.select_option("#new-role", "reviewer")
    page.fill("#new-password", PASSWORD)
    page.click("#new-user button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Created reviewer ada.")
    row = page.locator("#user-ada")
    row.locator("select[name=role]").select_option("auditor")
    row.locator(".role-form button").click()
    expect(page.locator("#user-ada .role")).to_have_text("auditor")
    page.locator("#user-ada button.toggle").click()  # confirmed in the dialog
    expect(page.locator("#user-ada .state")).to_have_text("disabled")
    _shot(page, "users")

    _admin_section(page, "API keys")
    page.fill("#key-name", "platform")
    page.check("input[name=scopes][value=review]")
    page.click("#new-key-form button[type=submit]")
    secret = page.locator("#secret").inner_text()
    assert re.fullmatch(r"ohsc_[A-Za-z0-9_-]{40,}", secret)
    _shot(page, "keys")
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(live.url + "/v1/review-items", headers=headers).status_code == 200
    page.goto(live.url + "/admin/keys")  # the key is never shown again
    expect(page.locator("#secret")).to_have_count(0)
    assert secret not in page.content()
    page.locator("#keys tr", has_text="platform").locator("button.revoke").click()
    expect(page.locator(".flash")).to_contain_text("Revoked API key platform")
    expect(page.locator("#keys tr", has_text="platform").locator(".state")).to_contain_text("revoked")
    assert httpx.get(live.url + "/v1/review-items", headers=headers).status_code == 401


def test_rules_webhooks_exchanges(live: Live, browser: Browser) -> None:
    services: Services = live.app.state.services
    banks = services.banks("test")
    banks.create_bank("shared")
    banks.create_bank("from-partner")
    banks.add_entries("shared", [EntryInput("md5", "0123456789abcdef" * 2, category="invented-a")])
    page = _login(browser, live, "root")

    _admin_section(page, "Rules")
    page.select_option("#rule-bank", "shared")
    page.select_option("#rule-verdict", "block")
    page.click("#new-rule button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Created rule 1.")
    page.select_option("#rule-bank", "shared")
    page.fill("#rule-category", "x" * 120)
    page.click("#new-rule button[type=submit]")
    expect(page.locator("#form-errors")).to_contain_text(
        "category: String should have at most 100 characters"
    )
    page.fill("#rule-category", "")
    page.click("#new-rule button[type=submit]")
    expect(page.locator("#form-errors")).to_contain_text("rule 1 already covers this bank and category")
    _shot(page, "rules")

    with loopback_server() as receiver:
        _admin_section(page, "Webhooks")
        page.fill("#hook-name", "siem")
        page.fill("#hook-url", receiver.url + "/hook")
        page.click("#new-webhook-form button[type=submit]")
        expect(page.locator("#new-webhook #secret")).to_be_visible()
        page.click("#new-webhook a")
        page.click("#send-test")
        expect(page.locator(".flash")).to_contain_text("Queued test event")
        for _ in range(60):  # the outbox job delivers within seconds; the page shows it on reload
            if page.locator("#deliveries td.ok").count():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(page.locator("#deliveries tbody tr").first).to_contain_text("webhook.test")
        expect(page.locator("#deliveries td.ok").first).to_have_text("200")
        assert [r.headers.get("ohsc-event") for r in receiver.received] == ["webhook.test"]
        _shot(page, "webhook")

    feed_key = services.accounts.create_api_key("self as partner", ["feed"]).secret
    _admin_section(page, "Exchanges")
    page.select_option("#publish select[name=bank]", "shared")
    page.fill("#publish input[name=api_key]", "self as partner")
    page.click("#publish button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Bank shared is published")
    node_key = page.locator("#node-key").inner_text()
    page.fill("#x-name", "partner")
    page.select_option("#x-kind", "ohsc-feed")
    page.select_option("#x-into", "from-partner")
    page.fill("#x-url", live.url)
    page.fill("#x-bank", "shared")
    page.fill("#x-public_key", node_key)
    page.fill("#x-api_key", feed_key)
    page.fill("#x-interval", "0")
    page.click("#new-exchange button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Added exchange partner.")
    page.locator("#exchange-partner button.sync").click()
    expect(page.locator(".flash")).to_have_text("Sync of partner started.")
    for _ in range(60):
        if "never" not in page.locator("#exchange-partner .last-sync").inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("#exchange-partner .last-sync")).not_to_contain_text("never")
    assert banks.get_bank("from-partner").active_entries == 1
    _shot(page, "exchanges")


def test_reviewer_sees_and_reaches_none_of_it(live: Live, browser: Browser) -> None:
    page = _login(browser, live, "rita")
    nav = page.locator("header nav")
    expect(nav).to_contain_text("Review queue")
    for label in ("Users", "API keys", "Rules", "Webhooks", "Exchanges"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
    for path in ("/admin/users", "/admin/keys", "/admin/rules", "/admin/webhooks", "/admin/exchanges"):
        response = page.goto(live.url + path)
        assert response is not None and response.status == 403, path
