"""Feed pages signed with the node's Ed25519 key, and their check by a subscriber.

The key comes from ``OHSC_FEED_SIGNING_KEY`` (base64 of the raw 32-byte private key) or the key
file ``OHSC_HOME/feed-signing.key`` (created owner-only when first needed). ``ohsc feed key``
prints the public key a partner pins (``ohsc exchange add ... --public-key``).

A page is a JSON object; the signature covers its canonical JSON (sorted keys, no spaces) without
the ``signature`` member, so any change to an item, the cursor, the bank or the signer breaks it.

A publisher sends the page as its canonical JSON with the signature as the last member
(:func:`signed_page_bytes`: ``signature`` sorts after every other key), so a subscriber checks
the signature on the bytes it received less that member (:func:`verified_page`) instead of
encoding the parsed page again; a page sent any other way is checked the long way
(:func:`signature_problem`). Both check the same signed bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
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


def signed_page_bytes(key: Ed25519PrivateKey, page: dict[str, Any]) -> bytes:
    """What :func:`sign_page` returns, as its canonical JSON: the signed bytes with the
    signature spliced in as the last member (no second encoding of a page of thousands of items)."""
    body = {**page, "format": FORMAT, "public_key": public_key_b64(key.public_key())}
    body.pop("signature", None)
    data = canonical_json(body)
    signature = base64.b64encode(key.sign(data)).decode()
    if any(k > "signature" for k in body):  # not the last member: encode the whole page
        return canonical_json({**body, "signature": signature})
    return data[:-1] + b',"signature":"' + signature.encode() + b'"}'


#: the last member of a page :func:`signed_page_bytes` wrote (base64 has no quote or backslash)
_TAIL = re.compile(rb',"signature":"([A-Za-z0-9+/]*={0,2})"\}\Z')


def verified_page(raw: bytes, trusted: Ed25519PublicKey) -> tuple[dict[str, Any] | None, str | None]:
    """The page in ``raw`` (a feed answer's body) and why its signature cannot be trusted
    under ``trusted`` (None when it verifies).

    When ``raw`` ends in the signature member, the signature is checked on ``raw`` without it:
    the bytes the publisher signed, if it sent its canonical JSON; the page is then the parse of
    exactly those bytes plus the signature. Otherwise (or when that check fails: another
    encoding of the same page) the page is encoded canonically again and checked."""
    try:
        page = json.loads(raw)
    except ValueError:
        return None, "the page is not JSON"
    if not isinstance(page, dict):
        return None, "the page is not a JSON object"
    tail = _TAIL.search(raw, max(0, len(raw) - 128))  # the member is about 100 bytes
    spliced = tail is not None and page.get("signature") == tail.group(1).decode()
    if tail is not None and spliced and _header_problem(page, trusted) is None:
        try:
            trusted.verify(base64.b64decode(tail.group(1), validate=True), raw[: tail.start()] + b"}")
            return page, None
        except (InvalidSignature, ValueError, binascii.Error):
            pass  # not the canonical bytes, or forged: the long way decides
    return page, signature_problem(page, trusted)


def _header_problem(page: dict[str, Any], trusted: Ed25519PublicKey) -> str | None:
    if page.get("format") != FORMAT:
        return f"not a feed page of format {FORMAT}"
    if not isinstance(page.get("signature"), str):
        return "the page is not signed"
    if page.get("public_key") != public_key_b64(trusted):
        return "the page is signed by another key than the pinned one"
    return None


def signature_problem(page: dict[str, Any], trusted: Ed25519PublicKey) -> str | None:
    """Why the page's signature cannot be trusted under ``trusted``; None when it verifies."""
    problem = _header_problem(page, trusted)
    if problem is not None:
        return problem
    body = {k: v for k, v in page.items() if k != "signature"}
    try:
        trusted.verify(base64.b64decode(page["signature"], validate=True), canonical_json(body))
    except (InvalidSignature, ValueError, binascii.Error):
        return "the signature does not verify (the page was changed or forged)"
    return None
