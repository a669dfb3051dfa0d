"""Content kept for review and evidence: encrypted at rest, addressed by opaque ids."""

from ohsc.media.blobs import BlobStore, LocalEncryptedBlobStore, load_or_create_key, open_blob_store

__all__ = ["BlobStore", "LocalEncryptedBlobStore", "load_or_create_key", "open_blob_store"]
