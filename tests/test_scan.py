"""Scanning folders and archives: every file gets one record, bad input included, and the scan goes on."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from ohsc.banks import BankService
from ohsc.index.manager import IndexSet
from ohsc.matching import Matcher
from ohsc.scanning.runner import Scanner, ScanOptions
from ohsc.settings import Settings
from ohsc.signals.files import HashOptions
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent
from tests import crashy
from tests.images import encode, picture

KNOWN = [picture(100 + i) for i in range(3)]


def jpeg(im: Image.Image, q: int = 90) -> bytes:
    return encode(im.convert("RGB"), "JPEG", quality=q)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _tar(members: dict[str, bytes], gz: bool = True, links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _encrypted_flag(zip_bytes: bytes) -> bytes:
    """Set the 'encrypted' flag on every member (local and central headers)."""
    data = bytearray(zip_bytes)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            data[i + off] |= 0x01
            start = i + 4
    return bytes(data)


def build_tree(root: Path) -> None:
    (root / "ok").mkdir(parents=True)
    (root / "ok/copy.jpg").write_bytes(jpeg(KNOWN[0]))
    (root / "ok/smaller.png").write_bytes(encode(KNOWN[1].resize((320, 240)), "PNG"))
    (root / "ok/disguised.txt").write_bytes(jpeg(KNOWN[2]))  # wrong extension
    (root / "ok/decoy.jpg").write_bytes(jpeg(picture(999)))
    bad = root / "bad"
    bad.mkdir()
    whole = jpeg(picture(5))
    (bad / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "random.bin").write_bytes(os.urandom(3000))
    (bad / "bomb.png").write_bytes(encode(Image.new("1", (12_000, 10_000)), "PNG"))
    os.mkfifo(bad / "fifo")
    (bad / "self-loop").symlink_to(bad / "self-loop")
    (bad / "dangling").symlink_to(bad / "nowhere")
    (bad / "up").symlink_to(root)  # a directory loop
    arch = root / "archives"
    arch.mkdir()
    (arch / "photos.zip").write_bytes(
        _zip(
            {
                "inner/copy.jpg": jpeg(KNOWN[0], 80),
                "../escape.jpg": jpeg(KNOWN[1]),
                "/abs.jpg": b"not an image",
                "bomb.bin": b"\x00" * 20_000_000,
                "nested.zip": _zip({"deep.jpg": jpeg(KNOWN[2])}),
            }
        )
    )
    (arch / "secret.zip").write_bytes(_encrypted_flag(_zip({"hidden.jpg": jpeg(KNOWN[0])})))
    (arch / "bundle.tar.gz").write_bytes(
        _tar({"a/copy.jpg": jpeg(KNOWN[1]), "a/../../up.jpg": b"x"}, links={"a/link": "/etc/passwd"})
    )
    (arch / "broken.zip").write_bytes(_zip({"x.jpg": jpeg(KNOWN[0])})[:-40])
    full_tar = _tar({f"f{i}.jpg": jpeg(picture(i)) for i in range(3)})
    (arch / "cut.tar.gz").write_bytes(full_tar[: len(full_tar) // 2])
    (arch / "single.jpg.gz").write_bytes(gzip.compress(jpeg(KNOWN[2])))


@pytest.fixture
def scan_env(sqlite_store: Store, settings: Settings, tmp_path: Path) -> tuple[Matcher, Path, Settings]:
    banks = BankService(sqlite_store, settings)
    banks.create_bank("known")
    src = tmp_path / "known"
    src.mkdir()
    for i, im in enumerate(KNOWN):
        (src / f"k{i}.jpg").write_bytes(jpeg(im, 95))
    banks.add_files("known", sorted(src.iterdir()))
    matcher = Matcher(sqlite_store, settings, IndexSet.open(sqlite_store, settings.index_dir))
    root = tmp_path / "evidence"
    build_tree(root)
    return matcher, root, settings


def run(
    matcher: Matcher | None, settings: Settings, root: Path, **kw: Any
) -> tuple[dict[str, dict[str, Any]], Any]:
    records: list[dict[str, Any]] = []
    options = ScanOptions(workers=2, hash=HashOptions.from_settings(settings), **kw)
    summary = Scanner(settings, matcher).run(root, options, records.append)
    ids = [r["path"] for r in records]
    assert len(ids) == len(set(ids)), "one record per item"
    return {r["path"]: r for r in records}, summary


def test_every_file_gets_a_record_and_bad_input_a_reason(scan_env: tuple[Matcher, Path, Settings]) -> None:
    matcher, root, settings = scan_env
    recs, summary = run(matcher, settings, root)

    def matched(path: str) -> bool:
        return bool(recs[path].get("matched"))

    assert matched("ok/copy.jpg") and matched("ok/smaller.png") and matched("ok/disguised.txt")
    assert not matched("ok/decoy.jpg")
    assert recs["ok/disguised.txt"]["kind"] == "image"

    def code(path: str) -> str:
        return str(recs[path].get("error_code"))

    assert code("bad/truncated.jpg") == "image_decode" and recs["bad/truncated.jpg"]["md5"]
    assert recs["bad/empty.jpg"]["kind"] == "empty" and not recs["bad/empty.jpg"].get("error")
    assert recs["bad/random.bin"]["kind"] == "other"
    assert code("bad/bomb.png") == "image_too_large"
    assert code("bad/fifo") == "not_regular"
    assert code("bad/self-loop") == "symlink_loop"
    assert "dangling" in recs["bad/dangling"]["error"]
    assert code("bad/up") == "symlink_loop"

    # archives: members found, hostile ones refused or flagged
    assert matched("archives/photos.zip!inner/copy.jpg")
    assert matched("archives/photos.zip!nested.zip!deep.jpg")
    assert matched("archives/photos.zip!../escape.jpg")
    assert "path traversal" in recs["archives/photos.zip!../escape.jpg"]["error"]
    assert "absolute" in recs["archives/photos.zip!/abs.jpg"]["error"]
    assert code("archives/photos.zip!bomb.bin") == "archive_bomb"
    assert code("archives/secret.zip!hidden.jpg") == "archive_encrypted"
    assert matched("archives/bundle.tar.gz!a/copy.jpg")
    assert code("archives/bundle.tar.gz!a/link") == "archive_link"
    assert "path traversal" in recs["archives/bundle.tar.gz!a/../../up.jpg"]["error"]
    assert code("archives/broken.zip!*") == "archive_corrupt"
    assert recs["archives/broken.zip"]["md5"]  # the archive file itself is still hashed
    assert code("archives/cut.tar.gz!*") == "archive_corrupt"
    assert matched("archives/single.jpg.gz!single.jpg")

    assert summary.files == len(recs)
    assert summary.matched == sum(bool(r.get("matched")) for r in recs.values())
    assert summary.errors == sum(bool(r.get("error")) for r in recs.values())


def test_single_archive_as_the_scan_root(scan_env: tuple[Matcher, Path, Settings]) -> None:
    matcher, root, settings = scan_env
    recs, _ = run(matcher, settings, root / "archives/photos.zip")
    assert recs["photos.zip!inner/copy.jpg"]["matched"]
    recs, _ = run(matcher, settings, root / "archives/photos.zip", expand_archives=False)
    assert list(recs) == ["photos.zip"]


def test_resume_skips_finished_items(scan_env: tuple[Matcher, Path, Settings]) -> None:
    matcher, root, settings = scan_env
    first, _ = run(matcher, settings, root / "ok")
    done = frozenset(list(first)[:2])
    second, summary = run(matcher, settings, root / "ok", skip=done)
    assert summary.resumed_skipped == 2
    assert set(second) == set(first) - done


def test_a_crashing_decoder_costs_one_record_not_the_scan(scan_env: tuple[Matcher, Path, Settings]) -> None:
    matcher, root, settings = scan_env
    (root / "ok/poison.jpg").write_bytes(jpeg(picture(1)))
    recs, _ = run(matcher, settings, root / "ok", job=crashy.crash_on_poison)
    assert recs["poison.jpg"]["error_code"] == "worker_crash"
    assert recs["copy.jpg"]["matched"] and recs["decoy.jpg"].get("md5")
    assert len(recs) == 5


def test_a_library_scan_leaves_its_audit_event(scan_env: tuple[Matcher, Path, Settings]) -> None:
    """The scan.run event is written by the scanner, not by the CLI: library callers leave one too."""
    matcher, root, settings = scan_env
    options = ScanOptions(workers=2, hash=HashOptions.from_settings(settings))
    summary = Scanner(settings, matcher, actor="pipeline").run(root / "ok", options, lambda _r: None)
    with matcher.store.session() as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "scan.run").order_by(AuditEvent.id.desc())
        ).first()
    assert event is not None and event.actor == "pipeline"
    assert event.details["files"] == summary.files and event.details["matched"] == summary.matched
