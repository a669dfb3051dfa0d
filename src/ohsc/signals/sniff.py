"""Recognise files by their first bytes, never by their extension."""

from __future__ import annotations

from enum import StrEnum

#: How many leading bytes :func:`sniff` needs.
SNIFF_BYTES = 512


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    ARCHIVE = "archive"
    OTHER = "other"
    EMPTY = "empty"


class ArchiveKind(StrEnum):
    ZIP = "zip"
    TAR = "tar"
    GZIP = "gzip"  # a gzip stream; a .tar.gz is opened as tar when its content is tar


_IMAGE_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"BM", "bmp"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
    (0, b"\x00\x00\x01\x00", "ico"),
    (0, b"P1", "pnm"),
    (0, b"P2", "pnm"),
    (0, b"P3", "pnm"),
    (0, b"P4", "pnm"),
    (0, b"P5", "pnm"),
    (0, b"P6", "pnm"),
    (0, b"qoif", "qoi"),
)

_ISO_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def image_format(head: bytes) -> str | None:
    """The image format name when ``head`` starts an image file Pillow can read."""
    for offset, magic, name in _IMAGE_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if name == "bmp" and len(head) < 14:
                continue
            if name == "pnm" and (len(head) < 3 or head[2:3] not in b" \t\r\n#"):
                continue
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in _ISO_IMAGE_BRANDS:
        return "heif"
    return None


def video_format(head: bytes) -> str | None:
    if head[4:8] == b"ftyp" and head[8:12] not in _ISO_IMAGE_BRANDS:
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:3] == b"FLV":
        return "flv"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg"
    if len(head) >= 377 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return "mpegts"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:16] == bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"):
        return "asf"
    return None


def archive_kind(head: bytes) -> ArchiveKind | None:
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return ArchiveKind.ZIP
    if head[:2] == b"\x1f\x8b":
        return ArchiveKind.GZIP
    if head[257:262] == b"ustar":
        return ArchiveKind.TAR
    return None


def sniff(head: bytes) -> MediaKind:
    if not head:
        return MediaKind.EMPTY
    if image_format(head):
        return MediaKind.IMAGE
    if video_format(head):
        return MediaKind.VIDEO
    if archive_kind(head):
        return MediaKind.ARCHIVE
    return MediaKind.OTHER
