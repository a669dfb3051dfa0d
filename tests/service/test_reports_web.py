"""Reports in the web app: a confirmed review starts a draft, the form saves as edited (per-field
messages, conflicts), submit and retract by role, evidence pages, statistics, the scheduled jobs.
On SQLite and PostgreSQL (``env``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from svc_helpers import Env, image, make_env

from ohsc.audit import verify
from ohsc.reports.service import ReportService
from ohsc.settings import load_settings
from ohsc.store.models import AuditEvent
from ohsc.web.report_jobs import purge_evidence, resume_submissions


@pytest.fixture
def renv(tmp_path: Path, db_url: str) -> Any:
    settings = load_settings(
        home=tmp_path / "home",
        database_url=db_url,
        apikey_cache_seconds=0,
        report_destinations={"*": ["local-folder"]},
        report_default_jurisdictions=["US"],
        report_contact_email="safety@example.org",
        report_company_name="Example Platform",
    )
    yield from make_env(settings)


def _confirmed_item(env: Env, seed: int, reviewer: str = "rita", *, reveal: bool = True) -> int:
    if "known" not in {b["name"] for b in env.client.get("/v1/banks", headers=env.key()).json()["items"]}:
        env.bank("known")
    env.add_image("known", seed)
    item_id = int(env.match_image(seed)["review_item_id"])
    with TestClient(env.app) as c:
        csrf = env.login(c, reviewer)
        c.post(f"/review/items/{item_id}/claim", data={"csrf_token": csrf})
        if reveal:
            r = c.post(f"/review/items/{item_id}/reveal", data={"csrf_token": csrf, "mode": "click"})
            assert r.status_code == 200, r.text
        r = c.post(
            f"/review/items/{item_id}/decide?then=report",
            data={"csrf_token": csrf, "decision": "confirm"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith(f"/review/items/{item_id}?"), r.text
    return item_id


def _report_id(location: str) -> int:
    found = re.match(r"/reports/(\d+)", location)
    assert found, location
    return int(found.group(1))


def _svc(env: Env) -> ReportService:
    from ohsc.actor import LocalActor

    return ReportService(
        env.store, env.settings, LocalActor.of("test:admin", ["admin"]), blobs=env.services.blobs
    )


def test_confirmed_review_starts_a_report_and_the_form_saves_as_edited(renv: Env) -> None:
    env = renv
    env.user("rita", "reviewer")
    first = _confirmed_item(env, 11, reveal=True)
    second = _confirmed_item(env, 12, reveal=False)
    c = TestClient(env.app)
    csrf = env.login(c, "rita")
    page = c.get(f"/review/items/{first}")
    assert 'id="start-report"' in page.text
    r = c.post("/reports", data={"csrf_token": csrf, "review_item_id": str(first)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    rid = _report_id(r.headers["location"])
    assert f"#{rid}" in c.get(f"/review/items/{second}").text  # the open draft is offered
    r = c.post(
        "/reports",
        data={"csrf_token": csrf, "review_item_id": str(second), "report_id": str(rid)},
        follow_redirects=False,
    )
    assert _report_id(r.headers["location"]) == rid
    snap = _svc(env).get(rid)
    assert len(snap.files) == 2
    f1, f2 = snap.files
    assert f1.viewed_by_human is True and f2.viewed_by_human is False  # from the reveal records
    assert f1.exif_viewed_by_human is None  # the record does not say: never assumed
    assert f1.review_ref and f1.review_ref.startswith("review-decision-")
    assert f1.sha256 == hashlib.sha256(image(11)).hexdigest()
    assert {h.type for h in f1.facts.original_hashes} == {"MD5", "SHA1", "SHA256"}
    assert snap.matched_at is not None and snap.sources[0]["review_item_id"] == first

    page = c.get(f"/reports/{rid}")
    assert page.status_code == 200 and 'name="incident.type"' in page.text
    version = snap.version
    form = {
        "version": str(version),
        "jurisdictions": "US",
        "incident.type": "child_pornography",
        "incident.at": "2026-03-01T10:00",
        "incident.platform": "Example app",
        "incident.urls": "https://example.org/p/1\nhttps://example.org/p/2",
        "incident.content_kind": "known",
        "incident.content_removed": "true",
        "escalation.imminent_danger": "false",
        "files.0.file_name": "upload.jpg",
        "files.0.uploaded_at": "2026-03-01T09:58",
        "files.0.industry_classification": "",
    }
    saved = c.post(f"/reports/{rid}/save", data=form, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert saved.status_code == 200 and "Saved (version" in saved.text, saved.text
    snap = _svc(env).get(rid)
    assert snap.body.incident.type == "child_pornography"
    assert snap.body.incident.urls == ["https://example.org/p/1", "https://example.org/p/2"]
    assert snap.files[0].facts.file_name == "upload.jpg"
    assert snap.files[0].facts.uploaded_at is not None

    # an account row, then a bad port: the port is refused next to its field, the rest is saved
    rows = c.post(
        f"/reports/{rid}/rows",
        data={**form, "version": str(snap.version), "_add": "accounts"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert rows.status_code == 200 and 'name="accounts.0.screen_name"' in rows.text
    version = int(re.search(r'id="report-version" value="(\d+)"', rows.text).group(1))  # type: ignore[union-attr]
    bad = {
        **form,
        "version": str(version),
        "accounts.0.relation": "reported",
        "accounts.0.screen_name": "placeholder-user",
        "accounts.0.esp_user_id": "user-1",
        "accounts.0.profile_urls": "https://example.org/u/1",
        "accounts.0.ip_events.0.ip": "198.51.100.7",
        "accounts.0.ip_events.0.port": "99999",
        "accounts.0.ip_events.0.event": "upload",
        "accounts.0.ip_events.0.at": "",
        "accounts.0.ip_events.1.ip": "",
        "accounts.0.ip_events.1.port": "",
        "accounts.0.ip_events.1.event": "",
        "accounts.0.ip_events.1.at": "",
        "accounts.0.device_ids.0.kind": "advertising-id",
        "accounts.0.device_ids.0.value": "0000-1",
    }
    saved = c.post(f"/reports/{rid}/save", data=bad, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert 'id="err-accounts-0-ip_events-0-port"' in saved.text
    assert "a whole number from 1 to 65535" in saved.text
    snap = _svc(env).get(rid)
    account = snap.body.accounts[0]
    assert account.screen_name == "placeholder-user" and account.device_ids[0].value == "0000-1"
    assert account.ip_events == []  # the refused row is not saved
    fixed = {**bad, "version": str(snap.version), "accounts.0.ip_events.0.port": "51234"}
    saved = c.post(f"/reports/{rid}/save", data=fixed, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert (
        'id="err-accounts-0-ip_events-0-port" class="field-error error" hx-swap-oob="true"></span>'
        in saved.text
    )
    snap = _svc(env).get(rid)
    assert snap.body.accounts[0].ip_events[0].port == 51234

    # a save based on an older version (another editor) is refused with a clear message
    stale = c.post(f"/reports/{rid}/save", data=bad, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert "changed by someone else" in stale.text
    # completeness is listed per destination (file 2 has no upload time: a warning)
    page = c.get(f"/reports/{rid}").text
    assert 'id="problems"' in page and 'data-field="files.1.uploaded_at"' in page

    # a reviewer cannot submit
    denied = c.post(f"/reports/{rid}/submit", data={"csrf_token": csrf})
    assert denied.status_code == 403


def test_submit_retract_evidence_and_stats_by_role(renv: Env) -> None:
    env = renv
    env.user("rita", "reviewer")
    env.user("remy", "reporter")
    env.user("cora", "evidence_custodian")
    item = _confirmed_item(env, 21)
    c = TestClient(env.app)
    csrf = env.login(c, "remy")  # a reporter also reviews
    r = c.post("/reports", data={"csrf_token": csrf, "review_item_id": str(item)}, follow_redirects=False)
    rid = _report_id(r.headers["location"])
    svc = _svc(env)
    snap = svc.get(rid)
    svc.update(
        rid,
        {
            "incident": {"type": "child_pornography", "at": "2026-03-01T10:00:00Z", "platform": "Example app",
                         "urls": ["https://example.org/p/1"], "content_removed": True},
            "accounts": [{"esp_user_id": "user-1", "screen_name": "placeholder-user"}],
        },
        expected_version=snap.version,
    )  # fmt: skip
    # Submit shows who receives what and asks once; a post without the confirmed version only
    # shows that page (it filed at once before)
    r = c.post(f"/reports/{rid}/submit", data={"csrf_token": csrf}, follow_redirects=True)
    assert r.status_code == 200 and 'id="confirm"' in r.text
    assert _svc(env).get(rid).status == "draft"
    plan_page = c.get(f"/reports/{rid}/confirm").text
    assert 'data-destination="local-folder"' in plan_page and "Local folder" in plan_page
    assert "1 file(s) with their details" in plan_page
    version = re.search(r'name="version" value="(\d+)"', plan_page).group(1)  # type: ignore[union-attr]
    stale = c.post(f"/reports/{rid}/submit", data={"csrf_token": csrf, "version": str(int(version) - 1)})
    assert "changed after you checked it" in stale.text and _svc(env).get(rid).status == "draft"
    r = c.post(f"/reports/{rid}/submit", data={"csrf_token": csrf, "version": version}, follow_redirects=True)
    assert r.status_code == 200 and "filed" in r.text, r.text
    assert "local-folder" in r.text
    assert _svc(env).get(rid).status == "filed"
    filed_page = c.get(f"/reports/{rid}").text
    assert "What is missing" not in filed_page  # a filed report lacks nothing
    assert 'id="retract-form"' in filed_page  # a package can be withdrawn (a retraction notice)
    listing = c.get("/reports?status=filed")
    assert f'data-report="{rid}"' in listing.text
    assert f'data-report="{rid}"' not in c.get("/reports?status=draft").text

    stats = c.get("/reports/stats")
    assert stats.status_code == 200 and "files_reported" in stats.text
    csv_text = c.get("/reports/stats.csv")
    assert csv_text.headers["content-type"].startswith("text/csv") and "filed" in csv_text.text

    # evidence: custodians (and admins) only
    assert c.get("/evidence").status_code == 403
    rita = TestClient(env.app)
    env.login(rita, "rita")
    assert rita.get(f"/evidence?report={rid}").status_code == 403
    cora = TestClient(env.app)
    ccsrf = env.login(cora, "cora")
    page = cora.get(f"/evidence?report={rid}")
    assert page.status_code == 200
    ids = [int(x) for x in re.findall(r'data-item="(\d+)"', page.text)]
    assert ids
    file_item = next(i for i in ids if "file" in page.text)
    held = cora.post(
        f"/evidence/items/{file_item}/hold",
        data={
            "csrf_token": ccsrf,
            "reason": "preservation request 1",
            "until": "2030-01-01",
            "report": str(rid),
        },
    )
    assert "Legal hold placed" in held.text and "held until" not in held.text
    hold_id = re.search(r"/evidence/holds/(\d+)/release", held.text)
    assert hold_id
    released = cora.post(
        f"/evidence/holds/{hold_id.group(1)}/release",
        data={"csrf_token": ccsrf, "reason": "request withdrawn", "report": str(rid)},
    )
    assert "released" in released.text
    download = cora.get(f"/evidence/items/{ids[0]}/content")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert rita.get(f"/evidence/items/{ids[0]}/content").status_code == 403
    with env.store.session() as s:
        actions = [a for (a,) in s.query(AuditEvent.action).all()]
        assert "evidence.read" in actions and "evidence.hold" in actions and "evidence.release" in actions
        assert verify(s).ok  # type: ignore[attr-defined]

    # retracting a filed local-folder report
    r = c.post(f"/reports/{rid}/retract", data={"csrf_token": csrf, "reason": "sent in error"})
    assert r.status_code == 200
    assert _svc(env).get(rid).status in ("retracted", "filed")


def test_scheduled_jobs_resume_and_purge(renv: Env) -> None:
    env = renv
    assert resume_submissions(env.services) == 0
    assert purge_evidence(env.services) == 0


class _Crash(BaseException):
    """The server process dies here (nothing in OHSC catches a BaseException)."""


def test_a_crash_mid_submission_is_resumed_by_the_scheduler_exactly_once(tmp_path: Path, db_url: str) -> None:
    """The server dies after NCMEC handled /fileinfo (answer lost); the scheduled job (role system)
    of the restarted server resumes: exactly one report at the fake CyberTipline."""
    import httpx

    from ohsc.actor import LocalActor
    from ohsc.reports.destinations import DESTINATIONS, NcmecDestination, ReportDestination
    from ohsc.reports.ncmec.client import CyberTiplineClient
    from ohsc.reports.ncmec.fake_server import FakeCyberTipline
    from ohsc.web.reporting import DESTINATIONS_EXTRA, report_service

    class CrashAfterFileinfo(httpx.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = self.inner.handle_request(request)
            if request.url.path.endswith("/fileinfo"):
                response.read()
                raise _Crash("after fileinfo")
            return response

    with FakeCyberTipline() as fake:
        settings = load_settings(
            home=tmp_path / "home",
            database_url=db_url,
            report_destinations={"US": ["ncmec"]},
            report_default_jurisdictions=["US"],
            report_contact_email="safety@example.org",
            ncmec_base_url=fake.url,
            ncmec_username="ohsc-test",
            ncmec_password="ohsc-test",
        )

        def factory(transport: httpx.BaseTransport | None) -> Any:
            def make(name: str) -> ReportDestination:
                if name == "ncmec":
                    return NcmecDestination(
                        settings,
                        client_factory=lambda: CyberTiplineClient(
                            fake.url, "ohsc-test", "ohsc-test", timeout=10, transport=transport
                        ),
                        retry_delays=(),
                    )
                return DESTINATIONS[name](settings)

            return make

        reporter = LocalActor.of("user:remy", ["reporter", "reviewer"])
        for env in make_env(settings):  # the first server process
            env.services.extras[DESTINATIONS_EXTRA] = factory(CrashAfterFileinfo())
            svc = report_service(env.services, reporter)
            draft = svc.create_draft(
                {
                    "incident": {
                        "type": "child_pornography",
                        "at": "2026-03-01T10:00:00Z",
                        "platform": "Example app",
                        "urls": ["https://example.org/p/1"],
                    },
                    "accounts": [{"esp_user_id": "user-1", "screen_name": "placeholder-user"}],
                }
            )
            svc.add_file(
                draft.report.id, data=image(31), file_name="u.jpg", viewed_by_human=True,
                exif_viewed_by_human=False, review_ref="review-decision-1",
            )  # fmt: skip
            with pytest.raises(_Crash):
                svc.submit(draft.report.id)  # what POST /reports/{id}/submit runs
            assert svc.get(draft.report.id).status == "submitting"
        for env in make_env(settings):  # restarted: the scheduled job resumes
            env.services.extras[DESTINATIONS_EXTRA] = factory(None)
            assert resume_submissions(env.services) == 1
            assert resume_submissions(env.services) == 0
            assert _svc(env).get(draft.report.id).status == "filed"
        assert len(fake.finished()) == 1 and fake.violations == []


def test_reports_api_with_the_report_scope(renv: Env) -> None:
    env = renv
    env.user("rita", "reviewer")
    item = _confirmed_item(env, 41)
    assert env.client.get("/v1/reports", headers=env.key("review")).status_code == 403
    key = env.key("report")
    r = env.client.post("/v1/reports", json={"review_item_id": item}, headers=key)
    assert r.status_code == 201, r.text
    draft = r.json()["report"]
    assert draft["files"][0]["viewed_by_human"] is True and draft["files"][0]["exif_viewed_by_human"] is None
    rid, version = draft["id"], draft["version"]
    bad = env.client.patch(
        f"/v1/reports/{rid}",
        json={"patch": {"incident": {"at": "yesterday"}}, "expected_version": version},
        headers=key,
    )
    assert bad.status_code in (400, 422) and "incident.at" in bad.text
    patch = {
        "incident": {"type": "child_pornography", "at": "2026-03-01T10:00:00Z", "platform": "Example app",
                     "urls": ["https://example.org/p/1"], "content_removed": True},
        "accounts": [{"esp_user_id": "user-1", "screen_name": "placeholder-user"}],
    }  # fmt: skip
    ok = env.client.patch(
        f"/v1/reports/{rid}", json={"patch": patch, "expected_version": version}, headers=key
    )
    assert ok.status_code == 200, ok.text
    stale = env.client.patch(
        f"/v1/reports/{rid}", json={"patch": patch, "expected_version": version}, headers=key
    )
    assert stale.status_code == 409
    got = env.client.get(f"/v1/reports/{rid}", headers=key).json()
    assert got["report"]["body"]["incident"]["platform"] == "Example app" and "problems" in got
    filed = env.client.post(f"/v1/reports/{rid}/submit", headers=key)
    assert filed.status_code == 200, filed.text
    assert filed.json()["report"]["status"] == "filed"
    assert filed.json()["submissions"][0]["destination"] == "local-folder"
    listed = env.client.get("/v1/reports?status=filed", headers=key).json()["items"]
    assert [x["id"] for x in listed] == [rid]
    retracted = env.client.post(f"/v1/reports/{rid}/retract", json={"reason": "sent in error"}, headers=key)
    assert retracted.status_code in (200, 409), retracted.text


def test_the_api_shows_the_plan_and_files_the_version_shown(renv: Env) -> None:
    env = renv
    key = env.services.accounts.create_api_key("filer", ["report"]).secret
    headers = {"Authorization": f"Bearer {key}"}
    body = {
        "jurisdictions": ["US"],
        "incident": {
            "type": "online_enticement",
            "at": "2026-03-01T10:00:00Z",
            "urls": ["https://example.org/p/1"],
        },
    }
    rid = env.client.post("/v1/reports", json={"body": body}, headers=headers).json()["report"]["id"]
    bad = env.client.patch(
        f"/v1/reports/{rid}", json={"patch": {"incident": {"urls": ["javascript:alert(1)"]}}}, headers=headers
    )
    assert bad.status_code == 422 and "javascript: is refused" in bad.text
    plan = env.client.get(f"/v1/reports/{rid}/plan", headers=headers).json()
    assert plan["ready"] is True and plan["version"] == 1
    assert [d["destination"] for d in plan["destinations"]] == ["local-folder"]
    assert any("1 URL(s)" in line for line in plan["destinations"][0]["sends"])
    env.client.patch(f"/v1/reports/{rid}", json={"patch": {"additional_info": "later"}}, headers=headers)
    stale = env.client.post(f"/v1/reports/{rid}/submit", json={"expected_version": 1}, headers=headers)
    assert stale.status_code == 409
    filed = env.client.post(f"/v1/reports/{rid}/submit", json={"expected_version": 2}, headers=headers)
    assert filed.status_code == 200 and filed.json()["report"]["status"] == "filed"
    assert (
        env.client.post(f"/v1/reports/{rid}/submit", headers=headers).status_code == 200
    )  # no body: as before


def test_a_filed_ncmec_report_shows_neither_problems_nor_a_retract_that_cannot_succeed(
    tmp_path: Path, db_url: str
) -> None:
    """A finished CyberTipline report cannot be retracted (NCMEC does not allow it) and lacks
    nothing: the page showed "What is missing" and a Retract button that could only fail."""
    from tests.reporting_support import ncmec_schema

    from ohsc.reports.ncmec.fake_server import FakeCyberTipline

    with FakeCyberTipline(schema_path=ncmec_schema()) as fake:
        settings = load_settings(
            home=tmp_path / "home",
            database_url=db_url,
            report_destinations={"US": ["ncmec"]},
            report_default_jurisdictions=["US"],
            report_contact_email="safety@example.org",
            ncmec_base_url=fake.url,
            ncmec_username="ohsc-test",
            ncmec_password="ohsc-test",
        )
        for env in make_env(settings):
            env.user("remy", "reporter")
            svc = _svc(env)
            rid = svc.create_draft(
                {
                    "incident": {
                        "type": "online_enticement",
                        "at": "2026-03-01T10:00:00Z",
                        "urls": ["https://example.org/p/1"],
                    }
                }
            ).report.id
            c = TestClient(env.app)
            env.login(c, "remy")
            draft_page = c.get(f"/reports/{rid}").text
            assert "What is missing" in draft_page
            assert f'action="/reports/{rid}/confirm"' in draft_page  # Submit asks first
            assert svc.submit(rid).filed
            page = c.get(f"/reports/{rid}").text
            assert "What is missing" not in page
            assert 'id="retract-form"' not in page
            assert 'id="no-retract"' in page and "does not allow a finished report" in page
            assert 'id="submit"' not in page
            assert svc.cannot_retract(rid) and len(fake.finished()) == 1
