"""The case grid in headless Chromium (Debian's chromium via Playwright): two analysts categorise
with the keyboard; with agreement 2 the category becomes final only when the second agrees.
Shift-click selects a range, whole-stack selection takes near-duplicates along, and previews are
server-made blurred greyscale pictures."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from svc_browser import live_app, require_browser, sign_in
from svc_helpers import PASSWORD, image

from ohsc.accounts.service import AccountService
from ohsc.cases.models import CaseItemRow, CaseVoteRow
from ohsc.cases.service import CaseService
from ohsc.settings import load_settings
from ohsc.store.db import Store

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    settings = load_settings(home=tmp_path / "home", apikey_cache_seconds=0)
    folder = tmp_path / "seized"
    folder.mkdir()
    for seed in range(4):
        (folder / f"p{seed}.jpg").write_bytes(image(400 + seed))
    big = Image.open(io.BytesIO(image(400)))
    buf = io.BytesIO()
    big.resize((160, 120)).save(buf, "JPEG", quality=70)
    (folder / "p0-small.jpg").write_bytes(buf.getvalue())  # a near-duplicate of p0

    def prepare(store: Store) -> None:
        service = CaseService(store, settings, actor="cli:test")
        service.create("op", agreement=2)
        service.ingest("op", folder, workers=0)
        accounts = AccountService(store, settings)
        accounts.create_user("ann", "reviewer", PASSWORD)
        accounts.create_user("bob", "reviewer", PASSWORD)

    with live_app(settings, prepare) as live:
        yield live.url, live.store


def _login(page: Page, url: str, name: str) -> None:
    sign_in(page, name, url + "/cases/1/grid")
    if "/cases/1/grid" not in page.url:
        page.goto(url + "/cases/1/grid")
    expect(page.locator("#grid .tile").first).to_be_visible()


def _tile(page: Page, item_id: int) -> Any:
    return page.locator(f'#grid .tile[data-id="{item_id}"]')


def _item_ids(store: Store) -> list[int]:
    with store.session() as s:
        return [r.id for r in s.query(CaseItemRow).order_by(CaseItemRow.id)]


def test_two_analysts_agree_in_the_grid(live: tuple[str, Store], browser: Browser) -> None:
    url, store = live
    ids = _item_ids(store)
    with store.session() as s:
        stacked = sorted(
            r.id
            for r in s.query(CaseItemRow)
            if s.query(CaseItemRow).filter_by(stack_id=r.stack_id).count() > 1
        )
    assert len(ids) == 5 and len(stacked) == 2
    others = [i for i in ids if i not in stacked]

    ann = browser.new_context().new_page()
    _login(ann, url, "ann")
    # previews are server-made greyscale JPEGs
    src = _tile(ann, ids[0]).locator("img").get_attribute("src")
    assert src is not None and src.endswith("/preview")
    expect(ann.locator("#key-legend")).to_contain_text("Cat 1: child abuse material")
    # shift-click selects a range: the two lone items after the first
    _tile(ann, others[0]).click()
    _tile(ann, others[2]).click(modifiers=["Shift"])
    expect(ann.locator("#selection")).to_contain_text("selected")
    ann.keyboard.press("2")
    expect(ann.locator("#selection")).to_contain_text("→ Cat 2")
    for i in others:
        expect(_tile(ann, i).locator(".mine")).to_have_text("you: Cat 2: child exploitative / age difficult")
        expect(_tile(ann, i).locator(".cat")).to_have_text("uncategorised")  # one analyst of two
    # whole-stack selection: one click takes the near-duplicate along
    ann.keyboard.press("s")
    _tile(ann, stacked[0]).click()
    ann.keyboard.press("1")
    expect(_tile(ann, stacked[1]).locator(".mine")).to_contain_text("Cat 1")

    bob = browser.new_context().new_page()
    _login(bob, url, "bob")
    _tile(bob, stacked[0]).click()
    _tile(bob, stacked[1]).click()
    bob.keyboard.press("1")
    for i in stacked:
        expect(_tile(bob, i).locator(".cat")).to_have_text("Cat 1: child abuse material")
    # bob disagrees on one lone item: it goes to the disagreements queue
    _tile(bob, others[0]).click()
    bob.keyboard.press("3")
    expect(_tile(bob, others[0]).locator(".dispute")).to_have_text("disputed")
    bob.goto(url + "/cases/1/grid?disputed=1")
    expect(bob.locator("#grid .tile")).to_have_count(1)

    with store.session() as s:
        final = {r.id: r.category for r in s.query(CaseItemRow)}
        votes = s.query(CaseVoteRow).count()
    assert final[stacked[0]] == final[stacked[1]] == "1"
    assert final[others[0]] is None and votes == 3 + 2 + 2 + 1


@pytest.fixture
def rooted(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    """A server that may ingest under ``tmp_path/root`` (a video and a picture wait there)."""
    pytest.importorskip("av", reason="videos need PyAV")
    from tests.videos import show

    root = tmp_path / "root"
    (root / "phone").mkdir(parents=True)
    (root / "phone" / "clip.mp4").write_bytes(show(40, count=2))
    (root / "phone" / "p.jpg").write_bytes(image(450))
    settings = load_settings(home=tmp_path / "home", apikey_cache_seconds=0, case_ingest_root=root, workers=1)

    def prepare(store: Store) -> None:
        CaseService(store, settings, actor="cli:test").create("op")
        AccountService(store, settings).create_user("boss", "admin", PASSWORD)

    with live_app(settings, prepare) as live:
        yield live.url, live.store


def test_admin_starts_an_ingest_in_the_browser_and_sees_a_video_strip(
    rooted: tuple[str, Store], browser: Browser
) -> None:
    url, store = rooted
    page = sign_in(browser.new_context().new_page(), "boss", url + "/cases/1")
    if not page.url.endswith("/cases/1"):
        page.goto(url + "/cases/1")
    page.fill("#ingest-form input[name=path]", "../")
    page.click("#ingest-form button")
    expect(page.locator("#sources .notice")).to_contain_text("ingest root")
    page.fill("#ingest-form input[name=path]", "phone")
    page.click("#ingest-form button")
    expect(page.locator("#sources .notice")).to_contain_text("Ingest of phone started.")
    # the page polls the source while it runs and reloads when it is done
    expect(page.locator("#source-list tr.source .status")).to_have_text("done", timeout=120_000)
    expect(page.locator("#counts")).to_contain_text("2")
    page.goto(url + "/cases/1/grid?kind=video")
    strip = page.locator("#grid .tile img.strip")
    expect(strip).to_have_count(1)
    expect(strip).to_have_js_property("complete", True)
    assert strip.evaluate("el => el.naturalWidth > el.naturalHeight")  # frames side by side
    page.locator("#grid .tile figcaption a").first.click()
    expect(page.locator("#strip")).to_be_visible()
    expect(page.locator("video#media")).to_have_class("blurred")
    with store.session() as s:
        video = s.query(CaseItemRow).filter_by(media_kind="video").one()
    assert video.vpdq and not video.known
