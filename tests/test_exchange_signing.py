"""Feed pages as the publisher sends them (canonical JSON, signature last) and the subscriber's
check of the bytes it received: the same signature as the long way, and nothing forged gets by."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ohsc.exchanges.signing import (
    canonical_json,
    sign_page,
    signature_problem,
    signed_page_bytes,
    verified_page,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def _page() -> dict[str, Any]:
    items = [
        {
            "seq": n,
            "id": str(n),
            "signal_type": "md5",
            "value": f"{n:032x}",
            "category": "placeholder",
            "labels": ["a", "ü"],
            "withdrawn": False,
        }
        for n in range(1, 6)
    ]
    items.append({"seq": 6, "id": "3", "withdrawn": True})
    return {
        "bank": "shared",
        "after": 0,
        "next": 6,
        "more": False,
        "issued_at": "2026-12-03T10:00:00+00:00",
        "items": items,
    }


def test_the_bytes_sent_are_the_canonical_json_of_the_signed_page() -> None:
    raw = signed_page_bytes(KEY, _page())
    assert raw == canonical_json(sign_page(KEY, _page()))
    page, problem = verified_page(raw, KEY.public_key())
    assert problem is None and page == sign_page(KEY, _page())
    assert signature_problem(sign_page(KEY, _page()), KEY.public_key()) is None


def test_another_encoding_of_a_signed_page_is_checked_the_long_way() -> None:
    raw = json.dumps(sign_page(KEY, _page()), indent=1).encode()  # spaces, insertion order
    page, problem = verified_page(raw, KEY.public_key())
    assert problem is None and page is not None and page["items"][0]["value"] == f"{1:032x}"


def test_a_changed_byte_a_moved_signature_or_another_key_is_refused() -> None:
    raw = signed_page_bytes(KEY, _page())
    forged = raw.replace(f"{2:032x}".encode(), f"{9:032x}".encode())  # one hash changed, same length
    assert len(forged) == len(raw)
    assert "does not verify" in str(verified_page(forged, KEY.public_key())[1])
    # the signature of another page of the same publisher on this page's bytes
    other = signed_page_bytes(KEY, {**_page(), "next": 7})
    tail = other[other.rindex(b',"signature"') :]
    spliced = raw[: raw.rindex(b',"signature"')] + tail
    assert "does not verify" in str(verify_problem(spliced))
    # a page signed by a key that is not the pinned one, claiming the pinned one
    by_other = json.loads(signed_page_bytes(OTHER, _page()))
    by_other["public_key"] = base64.b64encode(KEY.public_key().public_bytes_raw()).decode()
    assert "does not verify" in str(verify_problem(canonical_json(by_other)))
    # and one that says so
    assert "another key" in str(verify_problem(signed_page_bytes(OTHER, _page())))
    # something after the signature member, or no signature at all
    assert verify_problem(raw[:-1] + b',"zz":1}') is not None
    unsigned = {k: v for k, v in json.loads(raw).items() if k != "signature"}
    assert verify_problem(canonical_json(unsigned)) == "the page is not signed"
    assert verify_problem(b"[1]") == "the page is not a JSON object"
    assert verify_problem(b"{") == "the page is not JSON"


def verify_problem(raw: bytes) -> str | None:
    return verified_page(raw, KEY.public_key())[1]
