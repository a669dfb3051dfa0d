"""Trace an Object: sanitised pictures, two-person publishing, the public gallery."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import select

from ohsc.actor import ROLE_INVESTIGATOR, LocalActor
from ohsc.demo.synth import jpeg_bytes, picture
from ohsc.errors import (
    FileTooLargeError,
    ImageDecodeError,
    ImageTooLargeError,
    InvalidInputError,
    PermissionDeniedError,
    StateError,
    TraceObjectNotFoundError,
    TwoPersonRuleError,
)
from ohsc.media.blobs import LocalEncryptedBlobStore, open_blob_store
from ohsc.prevention.images import sanitise
from ohsc.prevention.trace import NAMESPACE, TraceObjects
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent

ALICE = LocalActor.of("user:alice", [ROLE_INVESTIGATOR])
BOB = LocalActor.of("user:bob", [ROLE_INVESTIGATOR])
CAROL = LocalActor.of("user:carol", [ROLE_INVESTIGATOR])
VISITOR = LocalActor.of("user:visitor", [])


def jpeg_with_metadata() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "SECRET-DESCRIPTION"  # ImageDescription
    exif[0x0131] = "SECRET-SOFTWARE"
    exif[0x0112] = 6  # rotate 90 degrees when shown
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    buf = io.BytesIO()
    picture(7, (320, 200)).save(buf, "JPEG", exif=exif.tobytes(), comment=b"SECRET-COMMENT")
    data = buf.getvalue()
    assert b"SECRET" in data
    return data


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "SECRET-AUTHOR")
    info.add_itxt("Comment", "SECRET-ITXT")
    im = picture(8, (200, 150)).convert("RGBA")
    buf = io.BytesIO()
    im.save(buf, "PNG", pnginfo=info, icc_profile=b"SECRET-ICC" * 10)
    return buf.getvalue()


@pytest.fixture
def objects(store: Store, settings: Settings) -> TraceObjects:
    return TraceObjects(store, open_blob_store(settings), settings)


def test_uploads_are_reencoded_without_metadata() -> None:
    jpeg = sanitise(jpeg_with_metadata(), max_bytes=10**7, max_pixels=10**8, max_side=4096)
    assert jpeg.format == "jpeg"
    assert (jpeg.width, jpeg.height) == (200, 320)  # orientation applied, then dropped
    assert b"SECRET" not in jpeg.data
    assert b"Exif" not in jpeg.data
    assert b"SECRET" not in jpeg.thumb
    with Image.open(io.BytesIO(jpeg.data)) as im:
        assert not im.getexif()
        assert "comment" not in im.info
    png = sanitise(png_with_metadata(), max_bytes=10**7, max_pixels=10**8, max_side=4096)
    assert png.format == "png"  # transparency kept
    assert b"SECRET" not in png.data
    with Image.open(io.BytesIO(png.data)) as im:
        assert im.mode == "RGBA"
        assert "icc_profile" not in im.info
        assert not getattr(im, "text", {})


def test_uploads_are_checked() -> None:
    with pytest.raises(FileTooLargeError):
        sanitise(b"x" * 101, max_bytes=100, max_pixels=10**8, max_side=100)
    with pytest.raises(ImageDecodeError):
        sanitise(b"not a picture", max_bytes=10**6, max_pixels=10**8, max_side=100)
    with pytest.raises(ImageDecodeError):
        sanitise(jpeg_bytes(picture(1))[:300], max_bytes=10**6, max_pixels=10**8, max_side=100)
    with pytest.raises(ImageTooLargeError):
        sanitise(jpeg_bytes(picture(1)), max_bytes=10**7, max_pixels=1000, max_side=100)
    big = sanitise(jpeg_bytes(picture(2, (1200, 600))), max_bytes=10**7, max_pixels=10**8, max_side=300)
    assert (big.width, big.height) == (300, 150)


def test_benign_photo_from_shared(shared: Path) -> None:
    photo = sorted((shared / "corpus" / "photos").glob("*.jpg"))[0]
    img = sanitise(photo.read_bytes(), max_bytes=10**8, max_pixels=10**9, max_side=1024)
    assert max(img.width, img.height) <= 1024


def test_two_person_publishing(objects: TraceObjects, store: Store) -> None:
    obj = objects.create(ALICE, jpeg_with_metadata(), category="toys", question="Where is this toy sold?")
    assert obj.status == "draft"
    with pytest.raises(StateError):
        objects.approve(BOB, obj.id)  # drafts must be submitted first
    objects.submit(ALICE, obj.id)
    with pytest.raises(TwoPersonRuleError):
        objects.approve(ALICE, obj.id)
    rejected = objects.reject(BOB, obj.id, "crop the background further")
    assert (rejected.status, rejected.status_note) == ("draft", "crop the background further")
    objects.submit(ALICE, obj.id)
    published = objects.approve(BOB, obj.id)
    assert (published.status, published.approved_by) == ("published", "user:bob")
    assert [p.public_id for p in objects.public_list()] == [obj.public_id]

    # an edit takes it off the gallery until someone other than the editor approves it again
    edited = objects.update(BOB, obj.id, question="Who makes this toy?")
    assert edited.status == "pending"
    assert objects.public_list() == []
    with pytest.raises(TwoPersonRuleError):
        objects.approve(BOB, obj.id)
    with pytest.raises(TwoPersonRuleError):
        objects.approve(ALICE, obj.id)  # she created it
    objects.approve(CAROL, obj.id)
    assert objects.public_get(obj.public_id).question == "Who makes this toy?"

    identified = objects.identify(BOB, obj.id)
    assert identified.status == "identified"
    assert objects.public_get(obj.public_id).identified is True
    with pytest.raises(StateError):
        objects.update(ALICE, obj.id, category="x")
    objects.retire(ALICE, obj.id)
    assert objects.public_list() == []
    with pytest.raises(TraceObjectNotFoundError):
        objects.public_image(obj.public_id)
    with store.session() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_type == "trace_object")
                .order_by(AuditEvent.seq)
            )
        )
    assert actions == [
        "trace_object.create",
        "trace_object.submit",
        "trace_object.reject",
        "trace_object.submit",
        "trace_object.approve",
        "trace_object.update",
        "trace_object.approve",
        "trace_object.identify",
        "trace_object.retire",
    ]


def test_pictures_are_encrypted_and_public_only_when_published(
    objects: TraceObjects, settings: Settings
) -> None:
    obj = objects.create(
        ALICE, png_with_metadata(), category="textiles", question="Do you know this pattern?"
    )
    with pytest.raises(TraceObjectNotFoundError):
        objects.public_image(obj.public_id)
    with pytest.raises(TraceObjectNotFoundError):
        objects.public_get(obj.public_id)
    data, mime = objects.image(ALICE, obj.id)
    assert mime == "image/png"
    thumb, thumb_mime = objects.image(ALICE, obj.id, thumb=True)
    assert thumb_mime == "image/jpeg"
    assert len(thumb) < len(data)
    files = [p for p in (settings.blobs_dir / NAMESPACE).rglob("*") if p.is_file()]
    assert len(files) == 2
    assert all(data not in f.read_bytes() and b"PNG" not in f.read_bytes()[:64] for f in files)
    assert isinstance(objects.blobs, LocalEncryptedBlobStore)
    objects.submit(ALICE, obj.id)
    objects.approve(BOB, obj.id)
    assert objects.public_image(obj.public_id) == (data, "image/png")
    assert objects.public_image(obj.public_id, thumb=True)[0] == thumb
    assert objects.public_categories() == ["textiles"]
    assert objects.public_list(category="toys") == []
    with pytest.raises(TraceObjectNotFoundError):
        objects.public_get("../../etc/passwd")
    replaced = objects.update(ALICE, obj.id, image=jpeg_bytes(picture(9)))
    assert replaced.image_format == "jpeg"
    assert len([p for p in (settings.blobs_dir / NAMESPACE).rglob("*") if p.is_file()]) == 2


def test_investigator_role_is_needed(objects: TraceObjects) -> None:
    with pytest.raises(PermissionDeniedError):
        objects.create(VISITOR, jpeg_bytes(picture(1)), category="toys", question="?")
    obj = objects.create(ALICE, jpeg_bytes(picture(1)), category="toys", question="Seen this?")
    with pytest.raises(PermissionDeniedError):
        objects.list_objects(VISITOR)
    with pytest.raises(PermissionDeniedError):
        objects.image(VISITOR, obj.id)
    with pytest.raises(InvalidInputError):
        objects.create(ALICE, jpeg_bytes(picture(1)), category="  ", question="?")
    with pytest.raises(InvalidInputError):
        objects.list_objects(ALICE, status="lost")
    assert [o.id for o in objects.list_objects(ALICE, status="draft")] == [obj.id]


def test_sole_operator_may_approve_their_own_object_audited(
    objects: TraceObjects, store: Store, settings: Settings
) -> None:
    """A one-person installation can publish: an explicit override, refused once a second
    investigator or administrator exists, and written to the audit log."""
    from ohsc.accounts.service import AccountService

    accounts = AccountService(store, settings, actor="cli:test")
    obj = objects.create(ALICE, jpeg_with_metadata(), category="toys", question="Where is this toy sold?")
    objects.submit(ALICE, obj.id)
    with pytest.raises(TwoPersonRuleError, match="sole-operator"):
        objects.approve(ALICE, obj.id)  # no override asked: the message says how
    accounts.create_user("alice", "investigator", "a long enough password 1")
    accounts.create_user("rita", "reviewer", "a long enough password 2")  # cannot approve objects
    published = objects.approve(ALICE, obj.id, sole_operator=True)
    assert (published.status, published.approved_by) == ("published", "user:alice")
    with store.session() as s:
        event = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "trace_object.approve")
            .order_by(AuditEvent.seq.desc())
        ).first()
    assert event is not None and event.details["sole_operator"] is True

    second = objects.create(ALICE, jpeg_with_metadata(), category="toys", question="Who makes this?")
    objects.submit(ALICE, second.id)
    accounts.create_user("bob", "admin", "a long enough password 3")
    with pytest.raises(TwoPersonRuleError, match="2 accounts"):
        objects.approve(ALICE, second.id, sole_operator=True)
    assert objects.approve(BOB, second.id).status == "published"
