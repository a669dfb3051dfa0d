"""Bank administration in headless Chromium (Debian's `chromium`, driven by Playwright), as an
admin: create a bank, change its settings, import a hash list in the background and follow its
progress to the end, download an export, search entries by hash and external id, retract and
restore with a reason; each step leaves the audit event the CLI's call leaves. A reviewer gets
403 on every bank administration address and no "Admin" link.

``SCREENSHOTS_DIR=docs/img`` saves the pictures docs/web.md shows (benign, invented data)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from svc_browser import Live, live_app, new_user_page, require_browser, screenshot

from ohsc.banks.service import BankService
from ohsc.settings import load_settings
from ohsc.store.models import AuditEvent

pytestmark = pytest.mark.slow

require_browser()

from playwright.sync_api import Browser, FilePayload, Page, expect  # noqa: E402

ROWS = 5000  # more than one import batch (2000): the run's counts and bytes move as it goes


def md5(i: int) -> str:
    return f"{i:032x}"


def hash_list() -> bytes:
    lines = ["signal_type,value,category,external_id,note"]
    lines += [f"md5,{md5(i)},placeholder-category,ext-{i},invented" for i in range(1, ROWS + 1)]
    lines.append("md5,not-a-hash,placeholder-category,ext-bad,")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with live_app(load_settings(home=tmp_path / "home", apikey_cache_seconds=0)) as live:
        yield live


def events(live: Live, action: str) -> list[AuditEvent]:
    with live.store.session() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))
        s.expunge_all()
        return rows


def details(event: AuditEvent) -> dict[str, Any]:
    return dict(event.details or {})


def create_and_configure(live: Live, page: Page) -> str:
    page.get_by_role("link", name="Admin", exact=True).click()
    page.locator("#admin-sections").get_by_role("link", name="Banks").click()
    expect(page.locator("h1")).to_have_text("Banks")
    form = page.locator("#create-bank")
    form.locator("input[name=name]").fill("placeholder-list")
    form.locator("input[name=threshold]").fill("20")
    form.locator("textarea[name=description]").fill("Invented hashes for the browser test.")
    form.get_by_role("button", name="Create bank").click()
    expect(page.locator("h1")).to_have_text("Bank placeholder-list")
    expect(page.locator("#bank-summary")).to_contain_text("threshold 20")
    bank_id = page.url.split("/admin/banks/", 1)[1].split("?", 1)[0]

    settings = page.locator("#settings-form")
    settings.locator("input[name=threshold]").fill("")
    settings.locator("input[name=robust]").check()
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    expect(page.locator("#bank-summary")).to_contain_text("(default)")
    expect(page.locator("#bank-summary")).to_contain_text("robust matching")
    assert details(events(live, "bank.create")[0])["threshold"] == 20
    [update] = events(live, "bank.update")
    assert (update.actor, update.object_id, details(update)) == (
        "user:ada",
        bank_id,
        {"threshold": None, "robust": True},
    )
    return bank_id


def import_with_progress(live: Live, page: Page, bank_id: str) -> None:
    form = page.locator("#import-form")
    upload: FilePayload = {"name": "placeholder-list.csv", "mimeType": "text/csv", "buffer": hash_list()}
    form.locator("input[name=file]").set_input_files(files=[upload])
    form.get_by_role("button", name="Import").click()
    page.wait_for_url(lambda u: "/imports/" in u)
    expect(page.locator("progress")).to_be_visible()
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "finished", timeout=120_000)
    expect(progress.locator(".percent")).to_have_text("100 %")
    expect(progress.locator('[data-count="added"]')).to_have_text(str(ROWS))
    expect(progress.locator('[data-count="invalid"]')).to_have_text("1")
    screenshot(page, "admin-bank-import.png")
    (run,) = BankService(live.store, live.app.state.services.settings).import_runs(int(bank_id))
    assert (run.status, run.counts["added"], run.bytes_read, run.source_name) == (
        "finished", ROWS, run.bytes_total, "placeholder-list.csv"
    )  # fmt: skip
    batches = events(live, "bank.entries.add")
    assert [details(e)["batch"] for e in batches] == [1, 2, 3]
    assert {(e.actor, details(e)["import_run"]) for e in batches} == {("user:ada", run.id)}
    page.get_by_role("link", name="Back to placeholder-list").click()
    expect(page.locator("#bank-summary .active-count")).to_have_text(str(ROWS))


def export_download(live: Live, page: Page) -> None:
    form = page.locator("#export-form")
    with page.expect_download() as info:
        form.get_by_role("button", name="Download").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert len(rows) == ROWS
    assert {r["value"] for r in rows} == {md5(i) for i in range(1, ROWS + 1)}
    [export] = events(live, "bank.export")
    assert (export.actor, details(export)["entries"], details(export)["format"]) == ("user:ada", ROWS, "csv")


def search(page: Page, query: str) -> None:
    box = page.locator("#search-entries")
    box.locator("input[name=q]").fill(query)
    box.get_by_role("button", name="Search").click()
    page.wait_for_url(lambda u: "q=" in u)


def retract_and_restore(live: Live, page: Page) -> None:
    rows = page.locator("#entry-rows tbody tr[data-entry]")
    expect(rows).to_have_count(50)  # paged
    page.get_by_role("link", name="Next page").click()
    expect(rows.first).to_have_attribute("data-entry", "51")
    search(page, md5(4321))
    expect(rows).to_have_count(1)
    expect(rows.first.locator("code")).to_have_attribute("title", md5(4321))
    search(page, "ext-8")
    expect(rows).to_have_count(1)
    row = rows.first
    row.locator("input[name=reason]").fill("listed in error")
    row.get_by_role("button", name="Retract").click()
    expect(page.locator(".flash")).to_have_text("Retracted 1 entry.")
    search(page, "ext-8")
    expect(row).to_have_attribute("data-state", "retracted")
    expect(row.locator(".state")).to_have_text("retracted: listed in error")
    screenshot(page, "admin-bank.png")
    row.locator("input[name=reason]").fill("checked again: listed correctly")
    row.get_by_role("button", name="Restore").click()
    expect(page.locator(".flash")).to_have_text("Restored 1 entry.")
    search(page, md5(8))
    expect(row).to_have_attribute("data-state", "active")
    [retract] = events(live, "entry.retract")
    [restore] = events(live, "entry.restore")
    assert (retract.actor, details(retract)["reason"]) == ("user:ada", "listed in error")
    assert (restore.actor, details(restore)["reason"]) == ("user:ada", "checked again: listed correctly")


def policy_then_delete(live: Live, page: Page, bank_id: str) -> None:
    """From the bank's page: its policy on Rules and policies, then the deletion (confirmed twice:
    the bank's name typed again, then the browser's dialog)."""
    page.goto(f"{live.url}/admin/banks/{bank_id}")
    page.click("#bank-policy")
    policy = page.locator(f"#policy-{bank_id}")
    policy.locator("input[name=two_person_review]").check()
    policy.get_by_role("button", name="Save").click()
    expect(page.locator(f"#policy-{bank_id} input[name=two_person_review]")).to_be_checked()
    [policy_event] = events(live, "bank.policy")
    assert policy_event.actor == "user:ada"
    page.goto(f"{live.url}/admin/banks/{bank_id}")
    page.click("#delete-bank")
    page.fill("#delete-form input[name=confirm_name]", "not-this-bank")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-form button[type=submit]")
    expect(page.locator("#confirm-delete .error")).to_be_visible()
    assert events(live, "bank.delete") == []
    page.fill("#delete-form input[name=confirm_name]", "placeholder-list")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-form button[type=submit]")
    page.wait_for_url(lambda u: u.rstrip("/").endswith("/admin/banks") or "/admin/banks?" in u)
    expect(page.locator(f'#banks tr[data-bank="{bank_id}"]')).to_have_count(0)
    [deleted] = events(live, "bank.delete")
    assert deleted.actor == "user:ada"


def test_an_admin_runs_a_bank_from_the_browser(live: Live, browser: Browser) -> None:
    page = new_user_page(live, browser, "ada", "admin")
    bank_id = create_and_configure(live, page)
    import_with_progress(live, page, bank_id)
    export_download(live, page)
    retract_and_restore(live, page)
    page.goto(live.url + "/admin/banks")
    expect(page.locator(f'#banks tr[data-bank="{bank_id}"]')).to_contain_text("placeholder-list")
    screenshot(page, "admin-banks.png")
    policy_then_delete(live, page, bank_id)


def test_a_reviewer_cannot_reach_bank_administration(live: Live, browser: Browser) -> None:
    bank = BankService(live.store, live.app.state.services.settings).create_bank("placeholder-list")
    page = new_user_page(live, browser, "rita", "reviewer")
    expect(page.locator("header.top nav")).to_be_visible()
    expect(page.locator("header.top nav").get_by_role("link", name="Admin")).to_have_count(0)
    for path in (
        "/admin",
        "/admin/banks",
        f"/admin/banks/{bank.id}",
        f"/admin/banks/{bank.id}/export?format=csv",
        f"/admin/banks/{bank.id}/imports/1",
    ):
        response = page.goto(live.url + path)
        assert response is not None and response.status == 403, path
    token = page.locator("body").get_attribute("data-csrf") or ""
    for path, form in (
        ("/admin/banks", {"name": "other"}),
        (f"/admin/banks/{bank.id}/settings", {"name": "renamed"}),
        (f"/admin/banks/{bank.id}/retract", {"ref": "1", "reason": "x"}),
        (f"/admin/banks/{bank.id}/restore", {"ref": "1", "reason": "x"}),
        (f"/admin/banks/{bank.id}/import", {"format": "csv"}),
    ):
        answer = page.request.post(live.url + path, form={**form, "csrf_token": token})
        assert answer.status == 403, path
    assert [b.name for b in BankService(live.store, live.app.state.services.settings).list_banks()] == [
        "placeholder-list"
    ]
    assert events(live, "bank.export") == []
