"""Ed25519 signatures for report packages.

The private key comes from ``OHSC_REPORT_SIGNING_KEY`` (base64 of the 32-byte raw key) or, when
that is unset, from a key file created once under the data directory (``report-signing.key``,
owner-only). Give the recipient the public key (``ohsc report signing-key``) once, through a
channel they trust; they check each package's detached signature (``<package>.json.sig``) with it.
The key id written into every package is the first 16 hex digits of SHA-256 over the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ohsc.errors import ConfigError, InvalidInputError
from ohsc.permissions import private_dir

KEY_FILE = "report-signing.key"
ALGORITHM = "Ed25519"


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def public_key_b64(public: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw_public(public)).decode()


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidInputError(f"not a base64 Ed25519 public key: {exc}") from None


def _from_b64(text: str, where: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ConfigError(f"{where} must be base64") from exc
    if len(raw) != 32:
        raise ConfigError(f"{where} must be 32 bytes (base64 of a raw Ed25519 private key)")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_or_create(configured: str | None, home: Path) -> Ed25519PrivateKey:
    """The signing key: from settings, else from (or newly written to) ``home/report-signing.key``."""
    if configured:
        return _from_b64(configured, "OHSC_REPORT_SIGNING_KEY")
    path = home / KEY_FILE
    if path.exists():
        return _from_b64(path.read_text(), f"signing key file {path}")
    private_dir(path.parent)
    raw = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return _from_b64(path.read_text(), f"signing key file {path}")
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(raw).decode() + "\n")
    return Ed25519PrivateKey.from_private_bytes(raw)


def canonical_json(obj: Any) -> bytes:
    """The bytes that are signed: sorted keys, no insignificant spaces, UTF-8, one final newline."""
    return (json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class Signer:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self._private.sign(data)).decode()

    def describe(self) -> dict[str, str]:
        return {"algorithm": ALGORITHM, "key_id": self.key_id, "public_key": public_key_b64(self.public)}


@dataclass(frozen=True, slots=True)
class PackageCheck:
    path: Path
    ok: bool
    key_id: str | None
    profile: str | None
    message: str


def verify_package(path: Path, public: Ed25519PublicKey) -> PackageCheck:
    """Check ``path`` against its detached signature ``path.sig`` and the given public key."""
    sig_path = path.with_name(path.name + ".sig")
    try:
        data = path.read_bytes()
        signature = base64.b64decode(sig_path.read_text().strip(), validate=True)
    except (OSError, ValueError) as exc:
        return PackageCheck(path, False, None, None, f"cannot read package or signature: {exc}")
    try:
        doc = json.loads(data)
    except ValueError:
        return PackageCheck(path, False, None, None, "the package is not JSON")
    signer = doc.get("signer", {}) if isinstance(doc, dict) else {}
    profile = doc.get("profile") if isinstance(doc, dict) else None
    kid = signer.get("key_id") if isinstance(signer, dict) else None
    if kid != key_id(public):
        return PackageCheck(path, False, kid, profile, f"signed with key {kid}, not {key_id(public)}")
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return PackageCheck(
            path, False, kid, profile, "the signature does not match: the package was changed"
        )
    return PackageCheck(path, True, kid, profile, "signature valid")
