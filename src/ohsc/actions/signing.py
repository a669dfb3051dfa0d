"""Webhook signatures: ``OHSC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>``.

The timestamp is inside the signed text, so a receiver can refuse old (replayed) deliveries.
:func:`verify` is what a receiver runs; docs/api.md shows the same in a few lines.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "OHSC-Signature"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
