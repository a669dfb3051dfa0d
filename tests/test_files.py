"""Hashing whole files: digests, sniffing by content, and errors that never lose the digests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ohsc.signals.files import HashOptions, hash_bytes, hash_path
from ohsc.signals.sniff import MediaKind, sniff
from tests.images import encode, picture

OPTIONS = HashOptions()


def test_digests_and_pdq_of_an_image(tmp_path: Path) -> None:
    data = encode(picture(1), "JPEG", quality=90)
    path = tmp_path / "photo.bin"  # the extension means nothing
    path.write_bytes(data)
    sig = hash_path(path, OPTIONS)
    assert sig.kind is MediaKind.IMAGE
    assert sig.format == "jpeg"
    assert sig.md5 == hashlib.md5(data).hexdigest()
    assert sig.sha1 == hashlib.sha1(data).hexdigest()
    assert sig.sha256 == hashlib.sha256(data).hexdigest()
    assert sig.size == len(data)
    assert sig.pdq is not None and sig.pdq_quality == 100
    assert sig.error is None
    assert set(sig.signals()) == {"md5", "sha1", "sha256", "pdq"}
    assert hash_bytes(data, OPTIONS).to_dict() == sig.to_dict()


def test_a_truncated_image_keeps_its_digests(tmp_path: Path) -> None:
    data = encode(picture(2), "PNG")[:500]
    sig = hash_bytes(data, OPTIONS)
    assert sig.md5 == hashlib.md5(data).hexdigest()
    assert sig.pdq is None
    assert sig.error_code == "image_decode"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", MediaKind.EMPTY),
        (b"plain text", MediaKind.OTHER),
        (b"PK\x03\x04rest", MediaKind.ARCHIVE),
        (b"\x00\x00\x00\x18ftypisom" + b"\x00" * 16, MediaKind.VIDEO),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 16, MediaKind.IMAGE),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", MediaKind.IMAGE),
    ],
)
def test_sniffing_by_content(data: bytes, kind: MediaKind) -> None:
    assert sniff(data) is kind


def test_empty_and_non_image_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    sig = hash_path(empty, OPTIONS)
    assert sig.kind is MediaKind.EMPTY and sig.size == 0 and sig.error is None
    assert sig.md5 == hashlib.md5(b"").hexdigest()
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    sig = hash_path(text, OPTIONS)
    assert sig.kind is MediaKind.OTHER and sig.pdq is None and sig.error is None


def test_special_and_missing_files(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert hash_path(fifo, OPTIONS).error == "not a regular file"
    missing = hash_path(tmp_path / "gone", OPTIONS)
    assert missing.md5 is None and missing.error_code == "unreadable"
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert hash_path(loop, OPTIONS).error == "symlink loop"


def test_files_above_the_size_limit_are_streamed(tmp_path: Path) -> None:
    data = encode(picture(3), "PNG")
    path = tmp_path / "big.png"
    path.write_bytes(data)
    sig = hash_path(path, HashOptions(max_file_bytes=100))
    assert sig.sha256 == hashlib.sha256(data).hexdigest()
    assert sig.pdq is None and sig.error_code == "file_too_large"


def test_pixel_limit_becomes_a_record_error(tmp_path: Path) -> None:
    data = encode(picture(4, (400, 300)), "PNG")
    sig = hash_bytes(data, HashOptions(max_pixels=1000))
    assert sig.md5 is not None and sig.error_code == "image_too_large"
