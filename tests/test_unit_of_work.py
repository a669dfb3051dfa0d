"""One unit of work for "store a blob, insert rows, write the audit event": a failure after the blob
was written leaves neither the blob nor a row, and no row ever names a blob that is gone.

Failures are injected by the database (a trigger refusing the row or the audit event), after the
blob write, in every place that stores blobs: evidence, report attachments, bank reference
thumbnails, Trace an Object pictures; the content store (review media) is in
``tests/service/test_unit_of_work_service.py``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ohsc import audit
from ohsc.actor import ROLE_INVESTIGATOR, SYSTEM, LocalActor
from ohsc.content.media import REFERENCE, open_blob_store
from ohsc.demo.synth import jpeg_bytes, picture
from ohsc.evidence.service import NAMESPACE as EVIDENCE
from ohsc.evidence.service import EvidenceService
from ohsc.evidence.tables import EvidenceItemRow
from ohsc.media.blobs import BlobStore
from ohsc.prevention.models import TraceObjectRow
from ohsc.prevention.trace import NAMESPACE as OBJECTS
from ohsc.prevention.trace import TraceObjects
from ohsc.reports.attachments import CONTENT_NAMESPACE as REPORTS
from ohsc.reports.tables import ReportFileRow
from ohsc.review.models import EntryThumbnailRow
from ohsc.review.thumbnails import keep_reference_thumbnail
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent, BankRow, EntryRow
from ohsc.store.unit import unit_of_work
from tests.failures import blob_files, refused
from tests.reporting_support import CUSTODIAN, body, image_bytes, make_settings, service

INVESTIGATOR = LocalActor.of("user:ivy", [ROLE_INVESTIGATOR])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def blobs(settings: Settings) -> BlobStore:
    return open_blob_store(settings)


def _count(store: Store, column: object) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count(column))) or 0)  # type: ignore[arg-type]


# --- the unit itself ---------------------------------------------------------------------------


def _write_then_fail(store: Store, blobs: BlobStore) -> None:
    with unit_of_work(store, blobs) as work:
        work.put("review", b"benign bytes")
        audit.record(work.session, actor="t", action="test.blob", object_type="thing")
        raise RuntimeError("after the write")


def test_a_failed_unit_removes_its_blobs(store: Store, blobs: BlobStore, settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="after the write"):
        _write_then_fail(store, blobs)
    assert blob_files(settings, "review") == []
    assert _count(store, AuditEvent.id) == 0


def _write_without_audit(store: Store, blobs: BlobStore) -> None:
    with unit_of_work(store, blobs) as work:
        work.put("review", b"benign bytes")


def test_a_unit_that_stores_a_blob_must_audit(store: Store, blobs: BlobStore, settings: Settings) -> None:
    with pytest.raises(RuntimeError, match="without writing an audit event"):
        _write_without_audit(store, blobs)
    assert blob_files(settings, "review") == []


def _release(store: Store, blobs: BlobStore, blob_id: str) -> None:
    with unit_of_work(store, blobs) as work:
        work.release("review", blob_id)
        audit.record(work.session, actor="t", action="test.release", object_type="thing")


def test_released_blobs_go_only_after_the_commit(store: Store, blobs: BlobStore, settings: Settings) -> None:
    kept = blobs.put("review", b"benign bytes")
    with refused(store, "audit_events"), pytest.raises(IntegrityError):
        _release(store, blobs, kept)
    assert blobs.exists("review", kept)  # the transaction failed: whatever names it still may
    _release(store, blobs, kept)
    assert not blobs.exists("review", kept)


# --- every caller ------------------------------------------------------------------------------


def _preserve(ev: EvidenceService, key: str = "k1") -> None:
    ev.preserve(source_key=key, subject_type="report", subject_id="1", kind="file", data=b"benign evidence",
                facts={}, jurisdictions=["US"])  # fmt: skip


@pytest.mark.parametrize("table", ["evidence_items", "audit_events"])
def test_evidence_preservation(store: Store, settings: Settings, table: str) -> None:
    ev = EvidenceService(store, settings, CUSTODIAN)
    with pytest.raises(IntegrityError), refused(store, table):
        _preserve(ev)
    assert blob_files(settings, EVIDENCE) == []
    assert _count(store, EvidenceItemRow.id) == 0


def test_evidence_purge_keeps_the_blob_until_the_row_commits(store: Store, settings: Settings) -> None:
    ev = EvidenceService(store, settings, SYSTEM)
    _preserve(ev)
    with store.session() as s:
        row = s.scalars(select(EvidenceItemRow)).one()
        later, blob_id = row.retain_until + timedelta(seconds=1), row.blob_id
    with pytest.raises(IntegrityError), refused(store, "audit_events"):
        ev.purge(now=later)
    with store.session() as s:
        assert s.scalars(select(EvidenceItemRow.blob_id)).one() == blob_id
    assert len(blob_files(settings, EVIDENCE)) == 1  # the row still names it, so it is still there
    assert ev.purge(now=later).count == 1
    assert blob_files(settings, EVIDENCE) == []


@pytest.mark.parametrize("table", ["report_files", "audit_events"])
def test_report_attachments(store: Store, settings: Settings, table: str) -> None:
    svc = service(store, settings)
    rid = svc.create_draft(body()).report.id
    with pytest.raises(IntegrityError), refused(store, table):
        svc.add_file(
            rid, data=image_bytes(1), viewed_by_human=True, exif_viewed_by_human=False, review_ref="r"
        )
    assert blob_files(settings, REPORTS) == []
    assert _count(store, ReportFileRow.id) == 0
    svc.add_file(rid, data=image_bytes(1), viewed_by_human=True, exif_viewed_by_human=False, review_ref="r")
    assert len(blob_files(settings, REPORTS)) == 1


def _entries(store: Store) -> tuple[int, dict[str, str]]:
    with store.session() as s:
        bank = BankRow(name="refs")
        s.add(bank)
        s.flush()
        s.add(EntryRow(bank_id=bank.id, signal_type="md5", value="0" * 32, labels=[]))
        return bank.id, {"md5": "0" * 32}


@pytest.mark.parametrize("table", ["entry_thumbnails", "audit_events"])
def test_bank_reference_thumbnails(store: Store, settings: Settings, blobs: BlobStore, table: str) -> None:
    bank_id, signals = _entries(store)
    data = jpeg_bytes(picture(3, (160, 120)))
    with pytest.raises(IntegrityError), refused(store, table):
        keep_reference_thumbnail(
            store, blobs, settings, bank_id=bank_id, data=data, signals=signals, actor="t"
        )
    assert blob_files(settings, REFERENCE) == []
    assert _count(store, EntryThumbnailRow.entry_id) == 0
    assert keep_reference_thumbnail(store, blobs, settings, bank_id=bank_id, data=data, signals=signals,
                                    actor="t") == 1  # fmt: skip
    assert len(blob_files(settings, REFERENCE)) == 1
    with store.session() as s:
        assert "bank.thumbnail.add" in s.scalars(select(AuditEvent.action)).all()


def test_trace_object_pictures(store: Store, settings: Settings, blobs: BlobStore) -> None:
    objects = TraceObjects(store, blobs, settings)
    image = jpeg_bytes(picture(5, (200, 150)))
    with pytest.raises(IntegrityError), refused(store, "trace_objects"):
        objects.create(INVESTIGATOR, image, category="toys", question="Where is this sold?")
    assert blob_files(settings, OBJECTS) == []
    assert _count(store, TraceObjectRow.id) == 0
    obj = objects.create(INVESTIGATOR, image, category="toys", question="Where is this sold?")
    before = blob_files(settings, OBJECTS)
    assert len(before) == 2  # picture and thumbnail
    with pytest.raises(IntegrityError), refused(store, "audit_events"):
        objects.update(INVESTIGATOR, obj.id, image=jpeg_bytes(picture(6, (200, 150))))
    assert blob_files(settings, OBJECTS) == before  # new ones removed, old ones (still named) kept
    objects.update(INVESTIGATOR, obj.id, image=jpeg_bytes(picture(6, (200, 150))))
    after = blob_files(settings, OBJECTS)
    assert len(after) == 2 and not set(after) & set(before)  # the replaced ones went after the commit
