"""Signed checkpoints: the head of the audit chain (number and hash), signed with Ed25519.

An operator exports one regularly (``ohsc audit checkpoint -o FILE``) and keeps it away from the
server. ``ohsc audit verify --checkpoint FILE`` then proves that the log still reaches that
event and that the event is unchanged, even against someone who can rewrite the database and
knows the audit key: a log cut back below the checkpoint, or rewritten at or before it, fails.

The signing key comes from ``OHSC_AUDIT_SIGNING_KEY`` (base64 of the raw 32-byte private key)
or from the key file ``OHSC_AUDIT_SIGNING_KEY_FILE`` (default ``OHSC_HOME/audit-signing.key``,
created owner-only with the first checkpoint). ``ohsc audit public-key`` prints the public key
for a verifier on another machine (``--public-key``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ohsc.errors import InvalidInputError
from ohsc.settings import Settings
from ohsc.store.keyfiles import decode_key, read_key_lines, read_or_create_key_file

FORMAT = "ohsc-audit-checkpoint/1"
ALGORITHM = "Ed25519"
_COMMENT = "OHSC audit checkpoint signing key (Ed25519, raw private key). Keep a backup."


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw_public(key)).decode()


def signer_id(key: Ed25519PublicKey) -> str:
    """16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A base64 raw Ed25519 public key (as ``ohsc audit public-key`` prints it)."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except (ValueError, binascii.Error):
        raise InvalidInputError("not a base64 Ed25519 public key (see `ohsc audit public-key`)") from None


def signing_key(settings: Settings, *, create: bool) -> Ed25519PrivateKey | None:
    """The checkpoint signing key; None when there is none and ``create`` is false."""
    if settings.audit_signing_key:
        raw = decode_key(settings.audit_signing_key, "OHSC_AUDIT_SIGNING_KEY")
        return Ed25519PrivateKey.from_private_bytes(raw)
    path = settings.effective_audit_signing_key_file
    if create:
        raw = read_or_create_key_file(path, comment=_COMMENT)[0]
    elif path.exists():
        raw = read_key_lines(path)[0]
    else:
        return None
    return Ed25519PrivateKey.from_private_bytes(raw)


def canonical_json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a checkpoint vouches for, and who signed it."""

    store_id: str
    seq: int
    hash: str
    created_at: str
    unkeyed_until: int
    signer: str = ""
    public_key: str = ""
    signature: str = ""
    format: str = FORMAT
    #: where it was read from (not signed; for messages)
    source: str = ""

    def _signed_part(self) -> dict[str, Any]:
        body = asdict(self)
        for unsigned in ("signature", "source"):
            body.pop(unsigned)
        return body

    def sign(self, key: Ed25519PrivateKey) -> Checkpoint:
        public = key.public_key()
        unsigned = replace(self, signer=signer_id(public), public_key=public_key_b64(public), signature="")
        sig = key.sign(canonical_json(unsigned._signed_part()))
        return replace(unsigned, signature=base64.b64encode(sig).decode())

    def to_json(self) -> str:
        body = self._signed_part()
        body["signature"] = self.signature
        return json.dumps(body, indent=1, sort_keys=True) + "\n"

    @property
    def name(self) -> str:
        return self.source or f"checkpoint #{self.seq}"

    def signature_problem(self, trusted: Ed25519PublicKey | None) -> str | None:
        """Why the signature cannot be trusted; None when it verifies under ``trusted``."""
        if trusted is None:
            return (
                f"{self.name}: no public key to check its signature against "
                "(pass --public-key, or run where the audit signing key is)"
            )
        if self.public_key != public_key_b64(trusted):
            return f"{self.name}: signed by key {self.signer}, not by the trusted key {signer_id(trusted)}"
        try:
            trusted.verify(base64.b64decode(self.signature), canonical_json(self._signed_part()))
        except (InvalidSignature, ValueError, binascii.Error):
            return f"{self.name}: the signature does not verify (the checkpoint was changed)"
        return None

    @classmethod
    def read(cls, path: Path) -> Checkpoint:
        """Read a checkpoint file; :class:`InvalidInputError` when it is not one."""
        try:
            body = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise InvalidInputError(f"{path}: not an OHSC audit checkpoint (format {FORMAT})")
        try:
            cp = cls(
                store_id=str(body["store_id"]),
                seq=int(body["seq"]),
                hash=str(body["hash"]),
                created_at=str(body["created_at"]),
                unkeyed_until=int(body["unkeyed_until"]),
                signer=str(body["signer"]),
                public_key=str(body["public_key"]),
                signature=str(body["signature"]),
                source=str(path),
            )
            datetime.fromisoformat(cp.created_at)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"{path}: checkpoint field missing or malformed ({exc})") from None
        return cp
