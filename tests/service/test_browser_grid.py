"""The review grid in headless Chromium: a reviewer puts items on the grid, selects them, reveals
them in sharp greyscale and then in colour (each step counted), decides them together and sees
each item's outcome; an item smuggled into the form that was never on their grid is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from svc_browser import Live, live_app, require_browser, screenshot, seed_review_items, signed_in
from svc_helpers import PASSWORD

from ohsc.accounts.service import AccountService
from ohsc.review.models import MediaRevealRow, RevealRefusalRow, ReviewDecisionRow
from ohsc.settings import load_settings

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, expect  # noqa: E402


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    settings = load_settings(
        home=tmp_path / "home",
        apikey_cache_seconds=0,
        review_daily_reveal_limit=5,
        review_break_after_reveals=100,
    )
    with live_app(settings) as running:
        yield running


def _seed(live: Live, n: int) -> list[int]:
    AccountService(live.store, live.app.state.services.settings).create_user("rita", "reviewer", PASSWORD)
    return seed_review_items(live, [300 + seed for seed in range(n)], policy={"keep_thumbnails": True})


def test_grid_greyscale_then_colour_and_bulk_decision(live: Live, browser: Browser) -> None:
    items = _seed(live, 4)
    on_grid, elsewhere = items[:3], items[3]
    _run(browser, live, on_grid, elsewhere)
    with live.store.session() as s:
        decisions = {r.item_id: (r.decision, r.viewed_unblurred) for r in s.query(ReviewDecisionRow)}
        reveals = sorted((r.item_id, r.target) for r in s.query(MediaRevealRow))
        ends = [r.hidden_at for r in s.query(MediaRevealRow)]
        refused = s.query(RevealRefusalRow).count()
    # each reveal ended: the browser's report at the next step, or the decision itself
    assert ends and all(end is not None for end in ends)
    assert refused == 3  # "c" over the limit: three reveals refused, recorded
    assert decisions == {i: ("not_abuse", True) for i in on_grid}  # the smuggled item is untouched
    assert reveals == sorted([(i, "grey") for i in on_grid] + [(i, "media") for i in on_grid[:2]])


def _run(browser: Browser, live: Live, on_grid: list[int], elsewhere: int) -> None:
    page = signed_in(browser, live, "rita", viewport={"width": 1280, "height": 1000})
    page.click("#grid-mode")
    expect(page.locator("#grid-empty")).to_be_visible()
    page.fill("#take-form input[name=count]", "3")
    page.select_option("#take-form select[name=sort]", "age")
    page.click("#take")
    cells = page.locator(".rcell")
    expect(cells).to_have_count(3)
    assert [int(c.get_attribute("data-item") or 0) for c in cells.all()] == on_grid
    for cell in cells.all():  # blurred first, beside the bank's (blurred) reference thumbnail
        expect(cell.locator("img.subject")).to_have_class("subject blurred")
        expect(cell.locator("img.reference")).to_have_class("reference blurred")
    expect(page.locator(".rcell details.meta").first).to_contain_text("known · entry")

    page.click("#select-all")
    expect(page.locator("#grid-selection")).to_have_text("3 selected.")
    page.keyboard.press("g")  # sharp greyscale: one recorded view each
    expect(page.locator("#reveal-status")).to_have_text("Revealed 3 of 3 in sharp greyscale.")
    expect(page.locator("#exposure")).to_contain_text("Media views today: 3 of 5")
    for cell in cells.all():
        expect(cell).to_have_attribute("data-step", "greyscale")
        assert "/grey?grant=" in (cell.locator("img.subject").get_attribute("src") or "")

    page.check(f'.rcell[data-item="{on_grid[2]}"] input.pick')
    page.uncheck(f'.rcell[data-item="{on_grid[2]}"] input.pick')
    expect(page.locator("#grid-selection")).to_have_text("2 selected.")
    page.click("#reveal-colour")
    expect(page.locator("#reveal-status")).to_have_text("Revealed 2 of 2 in full colour.")
    expect(page.locator("#exposure")).to_contain_text("Daily limit reached")
    expect(page.locator(f'.rcell[data-item="{on_grid[2]}"]')).to_have_attribute("data-step", "greyscale")
    page.click("#select-all")
    page.keyboard.press("c")  # over the limit: every item refused, and said so
    expect(page.locator("#reveal-status")).to_contain_text("Revealed 0 of 3 in full colour. Refused: #")
    page.locator(f'.rcell[data-item="{on_grid[0]}"] details.meta summary').click()  # the metadata panel
    expect(page.locator(f'.rcell[data-item="{on_grid[0]}"] details.meta')).to_contain_text("entry from file")
    screenshot(page, "review-grid.png")

    # an item that was never on this grid, smuggled into the form, is refused by the server
    page.evaluate(
        """id => { const i = document.createElement('input'); i.type = 'hidden'; i.name = 'item';
        i.value = String(id); document.getElementById('grid-form').appendChild(i); }""",
        elsewhere,
    )
    page.click("button[name=decision][value=not_abuse]")
    expect(page.locator("#grid-message")).to_contain_text("Decided 3 of 4.")
    rows = page.locator("#outcomes tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator(f'#outcomes tr[data-item="{elsewhere}"]')).to_contain_text("refused (not shown)")
    expect(page.locator(f'#outcomes tr[data-item="{on_grid[0]}"]')).to_contain_text("not abuse")
    expect(page.locator("#grid-empty")).to_be_visible()
    expect(page.locator("#exposure")).to_contain_text("Decisions today: 3")
    page.close()
