"""Encrypted blob storage behind an interface; the default is a local directory.

Each blob is one file named by a random id, holding ``MAGIC | key id | nonce | AES-256-GCM
ciphertext``. The blob's namespace and id are authenticated as associated data, so a file copied
under another name or into another namespace fails to decrypt. The key comes from
``OHSC_CONTENT_KEY`` (base64 of 32 bytes); without it, a key file is created once under the data
directory with owner-only permissions (fine for one machine; set the variable in production and
keep the key away from the data).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from abc import ABC, abstractmethod
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ohsc.errors import ConfigError, NotFoundError, OhscError
from ohsc.permissions import private_dir
from ohsc.settings import Settings

MAGIC = b"OHSCBLB1"
_ID = re.compile(r"^[0-9a-f]{32}$")
_NAMESPACE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class BlobIntegrityError(OhscError):
    code = "blob_integrity"


class BlobStore(ABC):
    """Store and fetch opaque blobs by id, per namespace (``review``, ``evidence``, ...)."""

    @abstractmethod
    def put(self, namespace: str, data: bytes) -> str:
        """Store ``data``; return its new id."""

    @abstractmethod
    def get(self, namespace: str, blob_id: str) -> bytes: ...

    @abstractmethod
    def delete(self, namespace: str, blob_id: str) -> bool:
        """Remove a blob; False if it was not there."""

    @abstractmethod
    def exists(self, namespace: str, blob_id: str) -> bool: ...


def load_or_create_key(configured: str | None, key_file: Path) -> bytes:
    """The 32-byte content key: from settings, else from (or newly written to) ``key_file``."""
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise ConfigError("OHSC_CONTENT_KEY must be base64") from exc
        if len(key) != 32:
            raise ConfigError("OHSC_CONTENT_KEY must be 32 bytes (base64 of 32 random bytes)")
        return key
    if key_file.exists():
        return _read_key(key_file)
    # written aside and linked into place: server processes starting together (``ohsc serve
    # --workers N``) read one complete key; a second starter once found the file still empty
    private_dir(key_file.parent)
    key = secrets.token_bytes(32)
    tmp = key_file.with_name(f".{key_file.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(key).decode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, key_file)
    except FileExistsError:  # another process created it first: use theirs
        return _read_key(key_file)
    finally:
        tmp.unlink(missing_ok=True)
    return key


def _read_key(key_file: Path) -> bytes:
    key = base64.b64decode(key_file.read_text().strip())
    if len(key) != 32:
        raise ConfigError(f"content key file {key_file} is damaged")
    return key


class LocalEncryptedBlobStore(BlobStore):
    def __init__(self, root: Path, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigError("content key must be 32 bytes")
        self.root = root
        self._aead = AESGCM(key)
        self._key_id = hashlib.sha256(key).digest()[:8]

    def _path(self, namespace: str, blob_id: str) -> Path:
        if not _NAMESPACE.match(namespace):
            raise ValueError(f"bad namespace {namespace!r}")
        if not _ID.match(blob_id):
            raise NotFoundError(f"no blob {blob_id!r}")
        return self.root / namespace / blob_id[:2] / blob_id

    @staticmethod
    def _aad(namespace: str, blob_id: str) -> bytes:
        return f"{namespace}/{blob_id}".encode()

    def put(self, namespace: str, data: bytes) -> str:
        blob_id = secrets.token_hex(16)
        path = self._path(namespace, blob_id)
        private_dir(path.parent)
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, data, self._aad(namespace, blob_id))
        tmp = path.with_name(f".{blob_id}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + self._key_id + nonce + sealed)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return blob_id

    def get(self, namespace: str, blob_id: str) -> bytes:
        path = self._path(namespace, blob_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"no blob {blob_id} in {namespace}") from None
        if raw[:8] != MAGIC:
            raise BlobIntegrityError(f"blob {blob_id} is not an OHSC blob")
        if raw[8:16] != self._key_id:
            raise BlobIntegrityError(f"blob {blob_id} was sealed with another content key")
        try:
            return self._aead.decrypt(raw[16:28], raw[28:], self._aad(namespace, blob_id))
        except InvalidTag:
            raise BlobIntegrityError(f"blob {blob_id} failed authentication (changed or moved)") from None

    def delete(self, namespace: str, blob_id: str) -> bool:
        path = self._path(namespace, blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, namespace: str, blob_id: str) -> bool:
        try:
            return self._path(namespace, blob_id).exists()
        except NotFoundError:
            return False


def open_blob_store(settings: Settings) -> BlobStore:
    """The configured blob store: the encrypted local directory ``OHSC_HOME/blobs``."""
    key = load_or_create_key(settings.content_key, settings.home / "content.key")
    return LocalEncryptedBlobStore(settings.blobs_dir, key)
