"""Pages people see, in headless Chromium (Debian's `chromium`, driven by Playwright): every role
lands on its home after login, every public page fits a 390 px phone, text and link-styled
controls meet WCAG AA contrast (computed from the colours the browser actually uses),
confirmations before what cannot be undone, "Go back" only with a page behind, the reports list
filter works under the CSP, and a refused approval leaves an address that reloads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ViewportSize
from svc_browser import Live, live_app, require_browser, sign_in, signed_in
from svc_helpers import PASSWORD, image

from ohsc.accounts.roles import Role
from ohsc.actor import LocalActor
from ohsc.settings import load_settings
from ohsc.web.prevention import prevention
from ohsc.web.reporting import report_service
from ohsc.web.ui.login import HOMES

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, Page, expect  # noqa: E402

PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    home = Path(tmp_path_factory.mktemp("pages")) / "home"
    settings = load_settings(home=home, apikey_cache_seconds=0, trace_tip_min_seconds=1, trace_pow_bits=8)
    with live_app(settings) as live:
        accounts = live.app.state.services.accounts
        for role in Role:
            accounts.create_user(f"u-{role.value}", role, PASSWORD)
        accounts.create_user("ben", Role.INVESTIGATOR, PASSWORD)
        yield live


def _object(live: Live, *, publish: bool) -> tuple[int, str]:
    p = prevention(live.app.state.services)
    ann = LocalActor("user:u-investigator", frozenset({"investigator"}))
    ben = LocalActor("user:ben", frozenset({"investigator"}))
    obj = p.objects.create(ann, image(11), category="toys", question="Where is this toy sold?")
    p.objects.submit(ann, obj.id)
    if publish:
        p.objects.approve(ben, obj.id)
    return obj.id, obj.public_id


def _draft(live: Live) -> int:
    actor = LocalActor("user:u-reporter", frozenset({"reporter", "reviewer"}))
    created = report_service(live.app.state.services, actor).create_draft(
        {"incident": {"content_kind": "known"}}
    )
    return created.report.id


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_home_after_login(live: Live, browser: Browser, role: Role) -> None:
    page = browser.new_context().new_page()
    statuses: list[int] = []
    page.on(
        "response", lambda r: statuses.append(r.status) if r.request.resource_type == "document" else None
    )
    sign_in(page, f"u-{role.value}", live.url + "/login")
    assert page.url == live.url + HOMES[role]
    assert statuses[-1] == 200, f"{role.value} landed on {page.url} with {statuses[-1]}"
    expect(page.locator("h1").first).to_be_visible()
    expect(page.locator("h1").first).not_to_contain_text("Forbidden")
    page.context.close()


_WIDEST = """() => {
  const width = document.documentElement.clientWidth;
  const over = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > width + 0.5) over.push(e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(r.right));
  }
  return {scroll: document.documentElement.scrollWidth, over: over.slice(0, 8)};
}"""


def test_every_public_page_fits_a_phone(live: Live, browser: Browser) -> None:
    _, public_id = _object(live, publish=True)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    paths = [f"/help?locale={loc}" for loc in ("en", "de", "fr", "es", "nl", "it", "pt")] + [
        "/help?locale=de&country=DE&language=de&audience=self",
        "/help/deterrence?locale=de&country=DE&context=search",
        "/help/deterrence?locale=fr&country=BE",
        "/help/widget?locale=fr&country=BE",
        "/help/widget?locale=de&country=DE",
        "/trace?locale=en",
        "/trace?locale=de",
        f"/trace/o/{public_id}?locale=en",  # the tip form
        f"/trace/o/{public_id}?locale=fr",
        "/login",
    ]
    wide: dict[str, Any] = {}
    for path in paths:
        response = page.goto(live.url + path)
        assert response is not None and response.status == 200, path
        measured = page.evaluate(_WIDEST)
        if measured["scroll"] > PHONE["width"]:
            wide[path] = measured
    assert wide == {}, f"pages scroll sideways at {PHONE['width']} px: {wide}"
    context.close()


_CONTRAST = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1});
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.push(e);
    let bg = {r: 255, g: 255, b: 255, a: 1};
    for (const e of chain.reverse()) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) bg = over(c, bg);
    }
    return bg;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const st = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (st.visibility !== 'visible' || !box.width || !box.height || box.right < 0) continue;
    if (el.closest('[disabled], [hidden], .visually-hidden, .hp, .blurred, option, select')) continue;
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
    const bg = background(el);
    const color = parse(st.color);
    const fg = over({...color, a: color.a * opacity}, bg);
    const L1 = lum(fg), L2 = lum(bg);
    const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    out.push({tag: el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''),
              text: el.textContent.trim().slice(0, 30), ratio: Math.round(ratio * 100) / 100, need});
  }
  return out;
}"""


def _low_contrast(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(_CONTRAST)
    return [f for f in found if f["ratio"] < f["need"]]


def test_text_and_link_styled_controls_meet_aa_contrast(live: Live, browser: Browser) -> None:
    """WCAG 2.1 AA (1.4.3): 4.5:1 for text, 3:1 for large text, from the computed colours."""
    report_id = _draft(live)
    page = signed_in(browser, live, "u-reporter")
    page.goto(f"{live.url}/reports/{report_id}")
    discard = page.get_by_role("button", name="Discard this draft")
    expect(discard).to_be_visible()
    link_like = [f for f in page.evaluate(_CONTRAST) if f["tag"] == "button.link"]
    assert link_like
    assert all(f["ratio"] >= 4.5 for f in link_like), link_like  # was 1.46:1, and looked disabled
    failures: dict[str, list[dict[str, Any]]] = {}
    for path in ("/review", f"/reports/{report_id}", "/reports", "/reports/stats"):
        page.goto(live.url + path)
        if low := _low_contrast(page):
            failures[path] = low
    public = browser.new_page()
    for path in ("/help", "/help/deterrence?locale=de&country=DE", "/help/widget", "/trace", "/login"):
        public.goto(live.url + path)
        if low := _low_contrast(public):
            failures[path] = low
    auditor = signed_in(browser, live, "u-auditor")
    if low := _low_contrast(auditor):
        failures["/audit"] = low
    assert failures == {}


def _dialogs(page: Page, accept: list[bool]) -> list[str]:
    seen: list[str] = []

    def answer(dialog: Any) -> None:
        seen.append(dialog.message)
        if accept.pop(0):
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    return seen


def test_confirmations_before_what_cannot_be_undone(live: Live, browser: Browser) -> None:
    # removing a help service
    page = signed_in(browser, live, "u-prevention_admin")
    page.goto(live.url + "/prevention/directory")
    rows = page.locator("button", has_text="Remove")
    before = rows.count()
    assert before > 0
    seen = _dialogs(page, [False, True])
    rows.first.click()
    page.wait_for_timeout(300)
    assert len(seen) == 1 and "Remove" in seen[0]
    assert page.locator("button", has_text="Remove").count() == before  # dismissed: still there
    with page.expect_navigation():
        rows.first.click()
    assert page.locator("button", has_text="Remove").count() == before - 1
    # retiring an object
    object_id, _ = _object(live, publish=True)
    page = signed_in(browser, live, "u-investigator")
    page.goto(f"{live.url}/investigate/objects/{object_id}")
    seen = _dialogs(page, [False, True])
    page.get_by_role("button", name="Retire").click()
    page.wait_for_timeout(300)
    assert "Retire object" in seen[0]
    expect(page.locator("h1")).to_contain_text("published")
    with page.expect_navigation():
        page.get_by_role("button", name="Retire").click()
    expect(page.locator("h1")).to_contain_text("retired")
    # discarding a report draft
    report_id = _draft(live)
    page = signed_in(browser, live, "u-reporter")
    page.goto(f"{live.url}/reports/{report_id}")
    seen = _dialogs(page, [False])
    page.get_by_role("button", name="Discard this draft").click()
    page.wait_for_timeout(300)
    assert f"Discard draft #{report_id}" in seen[0]
    assert page.url.endswith(f"/reports/{report_id}")
    assert page.request.get(f"{live.url}/reports/{report_id}").status == 200


def test_go_back_only_where_there_is_a_page_to_go_back_to(live: Live, browser: Browser) -> None:
    page = browser.new_page()  # a new tab opened on the warning page: nothing behind it
    page.goto(live.url + "/help/deterrence?locale=en")
    expect(page.locator("[data-back]")).to_be_hidden()
    expect(page.locator("a.button.primary")).to_be_visible()  # the directory is always offered
    page.goto(live.url + "/trace?locale=en")
    page.goto(live.url + "/help/deterrence?locale=en", referer=live.url + "/trace?locale=en")
    back = page.locator("[data-back]")
    expect(back).to_be_visible()
    back.click()
    page.wait_for_url(lambda u: "/trace" in u)


def test_reports_list_filter_works_under_the_csp(live: Live, browser: Browser) -> None:
    _draft(live)
    page = signed_in(browser, live, "u-reporter")
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if m.type == "error" else None)
    page.goto(live.url + "/reports")
    with page.expect_navigation():
        page.select_option("select[name=status]", "draft")
    assert "status=draft" in page.url
    assert blocked == []


def test_a_refused_self_approval_leaves_an_address_that_reloads(live: Live, browser: Browser) -> None:
    object_id, _ = _object(live, publish=False)
    page = signed_in(browser, live, "u-investigator")  # created and submitted it: may not approve it
    page.goto(f"{live.url}/investigate/objects/{object_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve and publish").click()
    expect(page.locator("#action-error")).to_contain_text("second investigator")
    assert f"/investigate/objects/{object_id}" in page.url
    response = page.reload()
    assert response is not None and response.status == 200  # was 405 on the POST-only URL
    expect(page.locator("h1")).to_contain_text("pending")
