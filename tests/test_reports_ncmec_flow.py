"""The NCMEC flow against the local fake CyberTipline, on SQLite and PostgreSQL.

Crashes are simulated in-process at every step (a transport that dies before a request is sent,
or after the server handled it but before the answer arrives); ``test_reports_kill.py`` does the
same with ``kill -9`` on a real process.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from ohsc.errors import (
    DestinationRejectedError,
    DestinationUnavailableError,
    ReportStateError,
    SubmissionBusyError,
)
from ohsc.evidence.service import EvidenceService
from ohsc.reports.destinations import DESTINATIONS, NcmecDestination, ReportDestination
from ohsc.reports.ncmec.client import CyberTiplineClient
from ohsc.reports.ncmec.fake_server import SCHEMA_PATH, FakeCyberTipline
from ohsc.reports.service import ReportService
from ohsc.reports.tables import SubmissionRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent
from ohsc.store.types import utcnow
from tests.reporting_support import ADMIN, make_report, ncmec_schema, ncmec_settings


class Crash(BaseException):
    """The process dies here (nothing in OHSC catches a BaseException)."""


class CrashingTransport(httpx.BaseTransport):
    def __init__(self, endpoint: str, nth: int, when: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.endpoint, self.nth, self.when = endpoint, nth, when
        self.seen = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        hit = request.url.path.endswith("/" + self.endpoint)
        if hit:
            self.seen += 1
        if hit and self.seen == self.nth and self.when == "before":
            raise Crash(f"before {self.endpoint} #{self.nth}")
        response = self.inner.handle_request(request)
        if hit and self.seen == self.nth and self.when == "after":
            response.read()
            response.close()
            raise Crash(f"after {self.endpoint} #{self.nth}")
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def fake() -> Iterator[FakeCyberTipline]:
    with FakeCyberTipline(schema_path=ncmec_schema()) as server:
        yield server


def ncmec_service(
    store: Store,
    settings: Settings,
    transport: httpx.BaseTransport | None = None,
    progress: list[str] | None = None,
) -> ReportService:
    def client() -> CyberTiplineClient:
        return CyberTiplineClient(
            settings.ncmec_base_url or "", "ohsc-test", "ohsc-test", timeout=10, transport=transport
        )

    def make(name: str) -> ReportDestination:
        if name == "ncmec":
            return NcmecDestination(settings, client_factory=client, retry_delays=())
        return DESTINATIONS[name](settings)

    return ReportService(
        store,
        settings,
        ADMIN,
        destination_factory=make,
        progress=progress.append if progress is not None else None,
    )


def _submission(store: Store, report_id: int) -> SubmissionRow:
    with store.session() as s:
        row = s.scalar(
            select(SubmissionRow).where(
                SubmissionRow.report_id == report_id, SubmissionRow.destination == "ncmec"
            )
        )
        assert row is not None
        s.expunge(row)
        return row


def _assert_exactly_one_report(fake: FakeCyberTipline, store: Store, report_id: int, files: int = 2) -> None:
    finished = fake.finished()
    assert len(finished) == 1, fake.state()
    assert fake.violations == []
    ncmec = finished[0]
    assert len(ncmec.files) == files
    assert all(f.details >= 1 for f in ncmec.files.values())
    sub = _submission(store, report_id)
    assert sub.state == "finished"
    assert sub.remote_id == str(ncmec.report_id)
    for other in fake.reports.values():
        if other is not ncmec:
            assert other.state in ("open", "retracted", "expired")


def test_full_flow(store: Store, tmp_path: Path, fake: FakeCyberTipline) -> None:
    settings = ncmec_settings(tmp_path, fake.url)
    notes: list[str] = []
    svc = ncmec_service(store, settings, progress=notes)
    rid = make_report(svc, files=2)
    # an associated account: NCMEC's schema (which the fake uses when ../shared is here) wants its type
    accounts = svc.get(rid).body.model_dump(mode="json", exclude_none=True)["accounts"]
    svc.update(rid, {"accounts": [*accounts, {"relation": "associated", "screen_name": "placeholder-alt"}]})
    result = svc.submit(rid)
    assert result.filed
    assert fake.calls == ["submit", "upload", "fileinfo", "upload", "fileinfo", "finish"]
    _assert_exactly_one_report(fake, store, rid)
    assert any("/finish" in n for n in notes)
    again = svc.submit(rid)  # submitting a filed report does nothing
    assert again.filed
    assert fake.calls.count("submit") == 1
    items = EvidenceService(store, settings, ADMIN).items(subject=("report", str(rid)))
    kinds = sorted(i.kind for i in items)
    assert kinds == ["document", "document", "document", "file", "file", "record"]
    snap = svc.get(rid)
    assert all(f.content_blob_id is None for f in snap.files)  # the report's own copy is released
    assert snap.filed_at is not None
    assert all(i.retain_until == snap.filed_at + timedelta(days=365) for i in items)


STEPS = [
    ("submit", 1),
    ("upload", 1),
    ("upload", 2),
    ("fileinfo", 1),
    ("fileinfo", 2),
    ("finish", 1),
]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize(("endpoint", "nth"), STEPS)
def test_a_crash_at_any_step_resumes_to_exactly_one_report(
    store: Store, tmp_path: Path, fake: FakeCyberTipline, endpoint: str, nth: int, when: str
) -> None:
    settings = ncmec_settings(tmp_path, fake.url)
    rid = make_report(ncmec_service(store, settings), files=2)
    crashing = ncmec_service(store, settings, CrashingTransport(endpoint, nth, when))
    with pytest.raises(Crash):
        crashing.submit(rid)
    assert ncmec_service(store, settings).get(rid).status == "submitting"
    result = ncmec_service(store, settings).submit(rid)
    assert result.filed
    _assert_exactly_one_report(fake, store, rid)
    sub = _submission(store, rid)
    if endpoint == "upload":
        # an interrupted upload (did NCMEC keep a copy?): the open report was cancelled and a new one opened
        assert len(sub.abandoned) == 1
        assert fake.reports[int(sub.abandoned[0]["remote_id"])].state == "retracted"
    else:
        assert sub.abandoned == []


def test_a_crash_while_opening_leaves_only_an_unfinished_orphan(
    store: Store, tmp_path: Path, fake: FakeCyberTipline
) -> None:
    settings = ncmec_settings(tmp_path, fake.url)
    rid = make_report(ncmec_service(store, settings), files=1)
    with pytest.raises(Crash):
        ncmec_service(store, settings, CrashingTransport("submit", 1, "after")).submit(rid)
    ncmec_service(store, settings).submit(rid)
    assert [r.state for r in fake.reports.values()] == ["open", "finished"]  # the orphan expires at NCMEC
    with store.session() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(rid))))
    assert "report.ncmec.submit_interrupted" in actions


def test_an_expired_open_report_is_started_again(
    store: Store, tmp_path: Path, fake: FakeCyberTipline
) -> None:
    settings = ncmec_settings(tmp_path, fake.url)
    rid = make_report(ncmec_service(store, settings), files=2)
    with pytest.raises(Crash):
        ncmec_service(store, settings, CrashingTransport("finish", 1, "before")).submit(rid)
    first = int(_submission(store, rid).remote_id or 0)
    fake.expire(first)
    assert ncmec_service(store, settings).submit(rid).filed
    _assert_exactly_one_report(fake, store, rid)
    assert _submission(store, rid).abandoned[0]["remote_id"] == str(first)


def test_unreachable_server_then_resume(store: Store, tmp_path: Path, fake: FakeCyberTipline) -> None:
    down = ncmec_settings(tmp_path, "http://127.0.0.1:9/ispws")
    rid = make_report(ncmec_service(store, down), files=1)
    with pytest.raises(DestinationUnavailableError, match="cannot connect") as info:
        ncmec_service(store, down).submit(rid)
    assert "ohsc report submit" in info.value.message  # says how to resume
    sub = _submission(store, rid)
    assert sub.state == "opening"
    assert "cannot connect" in (sub.last_error or "")
    up = ncmec_settings(tmp_path, fake.url)
    assert ncmec_service(store, up).submit(rid).filed
    _assert_exactly_one_report(fake, store, rid, files=1)


def test_a_refused_report_fails_and_can_be_fixed(store: Store, tmp_path: Path) -> None:
    strict = tmp_path / "strict.xsd"
    strict.write_text(
        SCHEMA_PATH.read_text().replace(
            '<xs:element name="platform" type="xs:string" minOccurs="0"/>\n              <xs:element name="escalateToHighPriority"',
            '<xs:element name="platform" type="xs:string"/>\n              <xs:element name="escalateToHighPriority"',
        )
    )
    with FakeCyberTipline(schema_path=strict) as fake:
        settings = ncmec_settings(tmp_path, fake.url)
        svc = ncmec_service(store, settings)
        rid = make_report(svc, files=1, incident={"type": "child_pornography", "at": "2026-01-01T00:00:00Z"})
        with pytest.raises(DestinationRejectedError, match="validation failed") as info:
            svc.submit(rid)
        assert info.value.response_code == 4100
        assert svc.get(rid).status == "failed"
        svc.update(rid, {"incident": {"platform": "Example app"}})  # editable again
        assert svc.get(rid).status == "draft"
        assert svc.submit(rid).filed
        assert len(fake.finished()) == 1


def test_wrong_credentials(store: Store, tmp_path: Path) -> None:
    with FakeCyberTipline(password="other") as fake:
        settings = ncmec_settings(tmp_path, fake.url)
        svc = ncmec_service(store, settings)
        rid = make_report(svc, files=1)
        with pytest.raises(DestinationRejectedError, match="OHSC_NCMEC_PASSWORD"):
            svc.submit(rid)
        assert svc.get(rid).status == "failed"


def test_a_damaged_upload_starts_a_new_report(store: Store, tmp_path: Path, fake: FakeCyberTipline) -> None:
    settings = ncmec_settings(tmp_path, fake.url)
    rid = make_report(ncmec_service(store, settings), files=1)
    original = fake.upload

    def damaged(fields: dict) -> bytes:
        name, content = fields["file"]
        fake.upload = original  # type: ignore[method-assign]
        return original({**fields, "file": (name, content + b"!")})

    fake.upload = damaged  # type: ignore[method-assign]
    with pytest.raises(DestinationUnavailableError, match="damaged"):
        ncmec_service(store, settings).submit(rid)
    assert ncmec_service(store, settings).submit(rid).filed
    _assert_exactly_one_report(fake, store, rid, files=1)


def test_retract_before_finish(store: Store, tmp_path: Path, fake: FakeCyberTipline) -> None:
    settings = ncmec_settings(tmp_path, fake.url)
    rid = make_report(ncmec_service(store, settings), files=1)
    with pytest.raises(Crash):
        ncmec_service(store, settings, CrashingTransport("finish", 1, "before")).submit(rid)
    result = ncmec_service(store, settings).retract(rid, reason="filed by mistake")
    assert result.report.status == "retracted"
    assert [r.state for r in fake.reports.values()] == ["retracted"]
    assert fake.finished() == []
    with pytest.raises(ReportStateError):
        ncmec_service(store, settings).submit(rid)


def test_a_finished_report_cannot_be_retracted(store: Store, tmp_path: Path, fake: FakeCyberTipline) -> None:
    settings = ncmec_settings(tmp_path, fake.url)
    svc = ncmec_service(store, settings)
    rid = make_report(svc, files=1)
    svc.submit(rid)
    with pytest.raises(ReportStateError, match="does not allow a finished report"):
        svc.retract(rid, reason="second thoughts")
    assert svc.get(rid).status == "filed"
    assert fake.calls.count("retract") == 0


def test_a_live_lease_blocks_a_second_process(store: Store, tmp_path: Path, fake: FakeCyberTipline) -> None:
    settings = ncmec_settings(tmp_path, fake.url)
    svc = ncmec_service(store, settings)
    rid = make_report(svc, files=1)
    with pytest.raises(Crash):
        ncmec_service(store, settings, CrashingTransport("upload", 1, "before")).submit(rid)
    with store.session() as s:
        s.execute(
            update(SubmissionRow)
            .where(SubmissionRow.report_id == rid, SubmissionRow.destination == "ncmec")
            .values(lease_owner="elsewhere:1:abc", lease_until=utcnow() + timedelta(minutes=5))
        )
    with pytest.raises(SubmissionBusyError, match="another process"):
        svc.submit(rid)
    assert svc.submit(rid, take_over=True).filed
    with store.session() as s:
        taken = s.scalar(select(AuditEvent).where(AuditEvent.action == "report.lease_taken_over"))
    assert taken is not None
    assert taken.details["forced"] is True
    _assert_exactly_one_report(fake, store, rid, files=1)


# --- the fake server refuses what NCMEC refuses ------------------------------------------------


def test_the_fake_refuses_out_of_order_and_duplicate_steps(fake: FakeCyberTipline) -> None:
    report = (
        b"<report><incidentSummary><incidentType>Child Sex Tourism</incidentType>"
        b"<incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime></incidentSummary>"
        b"<reporter><reportingPerson><email>a@example.org</email></reportingPerson></reporter></report>"
    )

    def details(rid: str, fid: str) -> bytes:
        return f"<fileDetails><reportId>{rid}</reportId><fileId>{fid}</fileId></fileDetails>".encode()

    with CyberTiplineClient(fake.url, "ohsc-test", "ohsc-test") as client:
        client.status()
        with pytest.raises(DestinationRejectedError) as info:
            client.upload("999", "a.bin", b"x", None)
        assert info.value.response_code == 5001
        with pytest.raises(DestinationRejectedError) as info:
            client.submit(b"<report><oops></report>")
        assert info.value.response_code == 4110
        with pytest.raises(DestinationRejectedError) as info:
            client.submit(b"<report/>")
        assert info.value.response_code == 4100
        rid = client.submit(report)
        with pytest.raises(DestinationRejectedError) as info:
            client.fileinfo(details(rid, "nope"))
        assert info.value.response_code == 5002
        fid, _ = client.upload(rid, "a.bin", b"benign bytes", None)
        with pytest.raises(DestinationRejectedError, match="fake-server guard"):
            client.upload(rid, "again.bin", b"benign bytes", None)
        with pytest.raises(DestinationRejectedError, match="fake-server guard"):
            client.finish(rid)  # a file without details
        client.fileinfo(details(rid, fid))
        client.finish(rid)
        for step in (
            lambda: client.finish(rid),
            lambda: client.retract(rid),
            lambda: client.upload(rid, "b", b"y", None),
        ):
            with pytest.raises(DestinationRejectedError) as info:
                step()
            assert info.value.response_code == 5102
        twin = client.submit(report)
        fid2, _ = client.upload(twin, "a.bin", b"benign bytes", None)
        client.fileinfo(details(twin, fid2))
        with pytest.raises(DestinationRejectedError, match="duplicate of a finished report"):
            client.finish(twin)
        client.retract(twin)
        with pytest.raises(DestinationRejectedError) as info:
            client.retract(twin)
        assert info.value.response_code == 5101
    assert len(fake.violations) == 3  # the duplicate upload, the undescribed file, the twin
    with (
        CyberTiplineClient(fake.url, "ohsc-test", "wrong") as client,
        pytest.raises(DestinationRejectedError) as info,
    ):
        client.status()
    assert info.value.response_code == 2000


def test_the_fake_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeCyberTipline(host="0.0.0.0")  # noqa: S104
