"""Evidence: encrypted preservation, retention per jurisdiction, legal holds, purge, roles, audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ohsc.actor import SYSTEM
from ohsc.audit import verify
from ohsc.errors import ConfigError, ConflictError, InvalidInputError, PermissionDeniedError
from ohsc.evidence.model import EvidenceItem
from ohsc.evidence.service import EvidenceService, retention_days_for
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent
from ohsc.store.types import utcnow
from tests.reporting_support import ADMIN, CUSTODIAN, NOBODY, REPORTER, make_report, make_settings, service

DATA = b"benign placeholder evidence bytes " * 50


def _actions(store: Store) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def _preserve(
    ev: EvidenceService, key: str = "test:1", jurisdictions: tuple[str, ...] = ("US",), data: bytes = DATA
) -> EvidenceItem:
    return ev.preserve(
        source_key=key,
        subject_type="report",
        subject_id="1",
        kind="file",
        data=data,
        facts={"file_name": "placeholder.bin"},
        jurisdictions=jurisdictions,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, evidence_retention_days={"US": 365, "EU": 180, "GB": 200, "*": 30})


def test_preserved_content_is_encrypted_and_read_back(store: Store, settings: Settings) -> None:
    ev = EvidenceService(store, settings, CUSTODIAN)
    item = _preserve(ev)
    assert _preserve(ev).id == item.id  # idempotent per key
    assert ev.read(item.id) == DATA
    blobs = [p for p in (settings.home / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    assert b"benign placeholder" not in blobs[0].read_bytes()
    assert item.retain_until - item.preserved_at == timedelta(days=365)
    assert "evidence.read" in _actions(store)


def test_retention_per_jurisdiction(settings: Settings) -> None:
    assert retention_days_for(settings, ["US"]) == 365
    assert retention_days_for(settings, ["DE"]) == 180
    assert retention_days_for(settings, ["GB"]) == 200
    assert retention_days_for(settings, ["JP"]) == 30
    assert retention_days_for(settings, ["DE", "US"]) == 365
    assert retention_days_for(settings, []) == 30
    no_default = load_settings(home=settings.home, evidence_retention_days={"US": 365})
    with pytest.raises(ConfigError, match="OHSC_EVIDENCE_RETENTION_DAYS"):
        retention_days_for(no_default, ["JP"])


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ({"EU": 400}, "at most 12 months"),
        ({"FR": 366}, "at most 12 months"),
        ({"US": 0}, "at least one day"),
        ({"USA": 10}, "not a jurisdiction"),
    ],
)
def test_retention_settings_are_validated(tmp_path: Path, mapping: dict[str, int], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_settings(home=tmp_path, evidence_retention_days=mapping)


def test_only_evidence_roles_read_content_and_refusals_are_audited(store: Store, settings: Settings) -> None:
    item = _preserve(EvidenceService(store, settings, ADMIN))
    reporter = EvidenceService(store, settings, REPORTER)
    assert [i.id for i in reporter.items()] == [item.id]  # metadata: yes
    assert reporter.get(item.id).sha256 == item.sha256
    with pytest.raises(PermissionDeniedError, match="evidence_custodian"):
        reporter.read(item.id)
    with pytest.raises(PermissionDeniedError):
        EvidenceService(store, settings, NOBODY).items()
    with pytest.raises(PermissionDeniedError):
        EvidenceService(store, settings, SYSTEM).read(item.id)
    with pytest.raises(PermissionDeniedError):
        reporter.hold([item.id], reason="placeholder")
    actions = _actions(store)
    assert {
        "evidence.list",
        "evidence.view",
        "evidence.read.denied",
        "evidence.list.denied",
        "evidence.hold.denied",
    } <= set(actions)
    with store.session() as s:
        assert verify(s).ok


def test_purge_when_due_and_dry_run(store: Store, settings: Settings) -> None:
    ev = EvidenceService(store, settings, CUSTODIAN)
    us = _preserve(ev, "a", ("US",))
    jp = _preserve(ev, "b", ("JP",), data=DATA + b"2")
    assert ev.purge(now=us.preserved_at + timedelta(days=29)).count == 0
    later = jp.retain_until + timedelta(seconds=1)
    preview = ev.purge(now=later, dry_run=True)
    assert [i.id for i in preview.items] == [jp.id]
    assert ev.read(jp.id) == DATA + b"2"  # a dry run deletes nothing
    blobs = settings.home / "blobs" / "evidence"
    assert len([p for p in blobs.rglob("*") if p.is_file()]) == 2
    done = EvidenceService(store, settings, SYSTEM).purge(now=later)  # the server's scheduled job
    assert [i.id for i in done.items] == [jp.id]
    assert len([p for p in blobs.rglob("*") if p.is_file()]) == 1
    with pytest.raises(ConflictError, match="purged"):
        ev.read(jp.id)
    assert ev.read(us.id) == DATA
    assert [i.id for i in ev.items()] == [us.id]
    assert {i.id for i in ev.items(include_purged=True)} == {us.id, jp.id}
    actions = _actions(store)
    assert actions.count("evidence.purge") == 1
    assert "evidence.purge_preview" in actions
    with store.session() as s:
        purge = s.scalar(select(AuditEvent).where(AuditEvent.action == "evidence.purge"))
    assert purge is not None
    assert purge.actor == "system"
    assert purge.details["sha256"] == jp.sha256


def test_legal_holds_extend_and_release(store: Store, settings: Settings) -> None:
    ev = EvidenceService(store, settings, CUSTODIAN)
    item = _preserve(ev, "a", ("JP",))
    end = item.retain_until
    (dated,) = ev.hold(
        [item.id], reason="placeholder process", until=end + timedelta(days=10), reference="case-1"
    )
    assert ev.get(item.id).expires_at == end + timedelta(days=10)
    assert ev.purge(now=end + timedelta(days=1)).count == 0
    (open_ended,) = ev.hold([item.id], reason="second process")
    assert ev.get(item.id).expires_at is None  # held until released
    assert ev.purge(now=end + timedelta(days=400)).count == 0
    ev.release(open_ended.id, reason="proceedings closed")
    with pytest.raises(ConflictError, match="already released"):
        ev.release(open_ended.id, reason="again")
    assert ev.purge(now=end + timedelta(days=5)).count == 0  # the dated hold still runs
    assert ev.purge(now=end + timedelta(days=11)).count == 1
    with pytest.raises(ConflictError, match="purged"):
        ev.hold([item.id], reason="too late")
    assert dated.reference == "case-1"


def test_hold_input_is_checked(store: Store, settings: Settings) -> None:
    ev = EvidenceService(store, settings, CUSTODIAN)
    item = _preserve(ev)
    with pytest.raises(InvalidInputError, match="reason"):
        ev.hold([item.id], reason="  ")
    with pytest.raises(InvalidInputError, match="future"):
        ev.hold([item.id], reason="x", until=utcnow() - timedelta(days=1))
    with pytest.raises(InvalidInputError):
        ev.hold([], reason="x")


def test_export_writes_owner_only_and_never_overwrites(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    ev = EvidenceService(store, settings, CUSTODIAN)
    item = _preserve(ev)
    target = ev.export(item.id, tmp_path / "out" / "item.bin")
    assert target.read_bytes() == DATA
    assert target.stat().st_mode & 0o077 == 0
    with pytest.raises(ConflictError):
        ev.export(item.id, target)
    assert "evidence.read" in _actions(store)


def test_a_filed_report_is_preserved_and_purged_on_schedule(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    svc = service(store, settings)
    rid = make_report(svc, files=2)
    filed = svc.submit(rid).report
    assert filed.filed_at is not None
    ev = EvidenceService(store, settings, CUSTODIAN)
    items = ev.items(subject=("report", str(rid)))
    assert sorted(i.kind for i in items) == ["document", "file", "file", "record"]
    files = {i.sha256 for i in items if i.kind == "file"}
    assert files == {f.sha256 for f in filed.files}
    record = next(i for i in items if i.kind == "record")
    assert '"status": "filed"' in ev.read(record.id).decode()
    (hold,) = ev.hold([items[0].id], reason="placeholder process")
    due = filed.filed_at + timedelta(days=365, seconds=1)
    assert EvidenceService(store, settings, SYSTEM).purge(now=due).count == 3
    ev.release(hold.id, reason="closed")
    assert EvidenceService(store, settings, SYSTEM).purge(now=due).count == 1
    assert ev.items(subject=("report", str(rid))) == []
