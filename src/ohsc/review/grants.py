"""Reveal grants: a short-lived token, made when a reveal is recorded, that unlocks the full media.

The media route serves unblurred bytes only with a grant for the same user and item, so nothing
unblurred reaches a browser without a reveal on record. Grants are HMAC-SHA256 over
``item:target:user:expiry`` with a key derived from the content key (every server process agrees).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from ohsc.store.types import ascii_int

GRANT_SECONDS = 300


class GrantSigner:
    def __init__(self, content_key: bytes) -> None:
        self._key = hashlib.sha256(b"ohsc-reveal-grant-v1" + content_key).digest()

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def make(self, item_id: int, target: str, user_id: int, now: float | None = None) -> str:
        expiry = int((time.time() if now is None else now) + GRANT_SECONDS)
        text = f"{item_id}:{target}:{user_id}:{expiry}"
        return f"{expiry}.{self._mac(text)}"

    def signed_expiry(self, grant: str, item_id: int, target: str, user_id: int) -> int | None:
        """The grant's expiry when it is genuine for this item, target and user, expired or not
        (a reveal's end is reported after the grant may have run out); None for a forged one."""
        expiry_text, _, mac = grant.partition(".")
        expiry = ascii_int(expiry_text)
        if expiry is None or not mac:
            return None
        good = hmac.compare_digest(mac, self._mac(f"{item_id}:{target}:{user_id}:{expiry_text}"))
        return expiry if good else None

    def check(self, grant: str, item_id: int, target: str, user_id: int, now: float | None = None) -> bool:
        expiry_text, _, mac = grant.partition(".")
        expiry = ascii_int(expiry_text)
        if expiry is None or not mac:
            return False
        if expiry < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(mac, self._mac(f"{item_id}:{target}:{user_id}:{expiry_text}"))
