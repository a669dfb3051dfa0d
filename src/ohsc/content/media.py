"""Where content kept for review lives: the encrypted blob store (local directory by default)."""

from __future__ import annotations

from ohsc.media.blobs import BlobStore, LocalEncryptedBlobStore, load_or_create_key
from ohsc.settings import Settings

#: namespace of media kept for review
REVIEW = "review"
#: namespace of bank reference thumbnails
REFERENCE = "reference"


def open_blob_store(settings: Settings) -> BlobStore:
    """The content store of these settings (key from ``OHSC_CONTENT_KEY`` or the key file)."""
    key = load_or_create_key(settings.content_key, settings.home / "content.key")
    return LocalEncryptedBlobStore(settings.blobs_dir, key)
