"""Feed pages signed with the node's Ed25519 key, and their check by a subscriber.

The key comes from ``OHSC_FEED_SIGNING_KEY`` (base64 of the raw 32-byte private key) or the key
file ``OHSC_HOME/feed-signing.key`` (created owner-only when first needed). ``ohsc feed key``
prints the public key a partner pins (``ohsc exchange add ... --public-key``).

A page is a JSON object; the signature covers its canonical JSON (sorted keys, no spaces) without
the ``signature`` member, so any change to an item, the cursor, the bank or the signer breaks it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ohsc.errors import InvalidInputError
from ohsc.settings import Settings
from ohsc.store.keyfiles import decode_key, read_or_create_key_file

FORMAT = "ohsc-feed-page/1"
_COMMENT = "OHSC feed signing key (Ed25519, raw private key): partners pin its public key. Keep a backup."


def canonical_json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def node_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.feed_signing_key:
        raw = decode_key(settings.feed_signing_key, "OHSC_FEED_SIGNING_KEY")
    else:
        raw = read_or_create_key_file(settings.effective_feed_signing_key_file(), comment=_COMMENT)[0]
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        raise InvalidInputError(
            "not a base64 Ed25519 public key (see `ohsc feed key` on the publisher)"
        ) from None


def sign_page(key: Ed25519PrivateKey, page: dict[str, Any]) -> dict[str, Any]:
    body = {**page, "format": FORMAT, "public_key": public_key_b64(key.public_key())}
    body.pop("signature", None)
    body["signature"] = base64.b64encode(key.sign(canonical_json(body))).decode()
    return body


def signature_problem(page: dict[str, Any], trusted: Ed25519PublicKey) -> str | None:
    """Why the page's signature cannot be trusted under ``trusted``; None when it verifies."""
    if page.get("format") != FORMAT:
        return f"not a feed page of format {FORMAT}"
    signature = page.get("signature")
    if not isinstance(signature, str):
        return "the page is not signed"
    body = {k: v for k, v in page.items() if k != "signature"}
    if body.get("public_key") != public_key_b64(trusted):
        return "the page is signed by another key than the pinned one"
    try:
        trusted.verify(base64.b64decode(signature, validate=True), canonical_json(body))
    except (InvalidSignature, ValueError, binascii.Error):
        return "the signature does not verify (the page was changed or forged)"
    return None
