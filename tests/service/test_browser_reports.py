"""Reporting in headless Chromium: a reporter confirms a match in the queue, starts a report, fills
in the form (saved as edited), submits it to the local fake CyberTipline and sees it filed; the
evidence is preserved. Debian's `chromium` driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from svc_browser import Live as Served
from svc_browser import live_app, require_browser, seed_review_items, sign_in
from svc_helpers import PASSWORD
from tests.reporting_support import ncmec_schema

from ohsc.actor import LocalActor
from ohsc.evidence.service import EvidenceService
from ohsc.reports.ncmec.fake_server import FakeCyberTipline
from ohsc.settings import load_settings

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@dataclass
class Live(Served):
    fake: FakeCyberTipline


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with FakeCyberTipline(schema_path=ncmec_schema()) as fake:
        settings = load_settings(
            home=tmp_path / "home",
            apikey_cache_seconds=0,
            review_break_after_reveals=100,
            report_destinations={"US": ["ncmec"]},
            report_default_jurisdictions=["US"],
            report_contact_email="safety@example.org",
            report_company_name="Example Platform",
            ncmec_base_url=fake.url,
            ncmec_username="ohsc-test",
            ncmec_password="ohsc-test",
        )
        with live_app(settings) as live:
            yield Live(live.url, live.app, live.store, fake)


def _seed(live: Live) -> int:
    live.app.state.services.accounts.create_user("remy", "reporter", PASSWORD)
    [item] = seed_review_items(live, [300])
    return item


def _saved(page: Page) -> None:
    expect(page.locator("#save-status")).to_contain_text("Saved")


def test_confirm_report_submit_to_the_fake_cybertipline(live: Live, browser: Browser) -> None:
    item = _seed(live)
    page = sign_in(browser.new_page(), "remy", live.url + "/review")
    expect(page.locator("h1")).to_have_text("Review queue")
    page.keyboard.press("n")  # the next item in the queue
    expect(page).to_have_url(f"{live.url}/review/items/{item}")
    page.keyboard.press("r")  # reveal (recorded: the report will say a person viewed the file)
    expect(page.locator("#media")).to_have_attribute("data-revealed", "1")
    page.click("#confirm-report")
    expect(page.locator(".flash")).to_contain_text("Confirmed")
    page.click("#start-report")
    page.wait_for_url(lambda u: "/reports/" in u)
    expect(page.locator(".flash")).to_contain_text("Started report")

    page.select_option("select[name='incident.type']", "child_pornography")
    _saved(page)
    page.fill("input[name='incident.at']", "2026-03-01T10:00")
    page.fill("input[name='incident.platform']", "Example app")
    # a URL that is not a web address is refused next to the field; the good line is kept
    page.fill("textarea[name='incident.urls']", "https://example.org/p/1\njavascript:alert(1)")
    page.locator("textarea[name='incident.urls']").dispatch_event("change")
    expect(page.locator("#err-incident-urls")).to_contain_text("javascript: is refused")
    expect(page.locator("#save-status")).to_contain_text("not saved")
    page.fill("textarea[name='incident.urls']", "https://example.org/p/1")
    page.locator("textarea[name='incident.urls']").dispatch_event("change")
    expect(page.locator("#err-incident-urls")).to_have_text("")
    page.select_option("select[name='incident.content_removed']", "true")
    page.fill("input[name='files.0.uploaded_at']", "2026-03-01T09:58")
    page.locator("input[name='files.0.uploaded_at']").dispatch_event("change")
    _saved(page)
    page.click("#add-account")
    expect(page.locator("input[name='accounts.0.screen_name']")).to_be_visible()
    page.fill("input[name='accounts.0.screen_name']", "placeholder-user")
    page.fill("input[name='accounts.0.esp_user_id']", "user-1234")
    page.get_by_role("button", name="Add IP event").click()
    page.fill("input[name='accounts.0.ip_events.0.ip']", "198.51.100.7")
    page.fill("input[name='accounts.0.ip_events.0.port']", "70000")
    page.select_option("select[name='accounts.0.ip_events.0.event']", "upload")
    expect(page.locator("#err-accounts-0-ip_events-0-port")).to_contain_text("65535")  # next to the field
    page.fill("input[name='accounts.0.ip_events.0.port']", "51234")
    page.locator("input[name='accounts.0.ip_events.0.port']").dispatch_event("change")
    expect(page.locator("#err-accounts-0-ip_events-0-port")).to_have_text("")
    _saved(page)
    expect(page.locator("#problems li.error")).to_have_count(0)

    page.click("#submit")  # shows who receives what, and asks once
    expect(page.locator("#plan li[data-destination='ncmec']")).to_contain_text("NCMEC CyberTipline")
    expect(page.locator("#plan")).to_contain_text("1 file(s) with their details")
    assert live.fake.calls == []  # nothing sent yet
    page.click("#confirm-submit")
    expect(page.locator(".flash")).to_contain_text("filed")
    expect(page.locator("#report-status")).to_have_text("filed")
    expect(page.locator("#problems")).to_have_count(0)  # a filed report lacks nothing
    expect(page.locator("#retract-form")).to_have_count(0)  # NCMEC: a finished report cannot be retracted
    expect(page.locator("#no-retract")).to_contain_text("does not allow a finished report")
    row = page.locator("#submissions tr[data-destination='ncmec']")
    expect(row.locator(".state")).to_have_text("finished")
    finished = live.fake.finished()
    assert len(finished) == 1 and live.fake.violations == []
    expect(row.locator(".remote-id")).to_have_text(str(finished[0].report_id))
    report_id = int(page.url.rsplit("/", 1)[1].split("?")[0])

    custodian = LocalActor.of("test:custodian", ["evidence_custodian"])
    items = EvidenceService(live.store, live.app.state.services.settings, custodian).items(
        subject=("report", str(report_id))
    )
    kinds = sorted(i.kind for i in items)
    assert "file" in kinds and "record" in kinds and "document" in kinds
