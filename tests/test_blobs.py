from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ohsc.errors import ConfigError, NotFoundError
from ohsc.media.blobs import BlobIntegrityError, LocalEncryptedBlobStore, load_or_create_key


def test_roundtrip_and_encryption_at_rest(tmp_path: Path) -> None:
    key = load_or_create_key(None, tmp_path / "key")
    store = LocalEncryptedBlobStore(tmp_path / "blobs", key)
    data = b"benign test bytes " * 100
    blob_id = store.put("review", data)
    assert store.get("review", blob_id) == data
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 1
    assert b"benign test bytes" not in files[0].read_bytes()
    assert (tmp_path / "key").stat().st_mode & 0o077 == 0
    assert store.delete("review", blob_id)
    assert not store.exists("review", blob_id)
    with pytest.raises(NotFoundError):
        store.get("review", blob_id)


def test_moved_or_changed_blobs_fail_authentication(tmp_path: Path) -> None:
    key = load_or_create_key(None, tmp_path / "key")
    store = LocalEncryptedBlobStore(tmp_path / "blobs", key)
    a = store.put("review", b"first")
    b = store.put("review", b"second")
    pa = tmp_path / "blobs" / "review" / a[:2] / a
    pb = tmp_path / "blobs" / "review" / b[:2] / b
    pb.write_bytes(pa.read_bytes())
    with pytest.raises(BlobIntegrityError):
        store.get("review", b)
    other = LocalEncryptedBlobStore(tmp_path / "blobs", bytes(32))
    with pytest.raises(BlobIntegrityError):
        other.get("review", a)


def test_key_from_settings_is_validated(tmp_path: Path) -> None:
    good = base64.b64encode(bytes(range(32))).decode()
    assert load_or_create_key(good, tmp_path / "unused") == bytes(range(32))
    with pytest.raises(ConfigError):
        load_or_create_key(base64.b64encode(b"short").decode(), tmp_path / "unused")
    with pytest.raises(NotFoundError):
        LocalEncryptedBlobStore(tmp_path, bytes(32)).get("review", "../../etc/passwd")
