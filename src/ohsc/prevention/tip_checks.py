"""The checks of an anonymous tip that need no store: its text, the client's network for rate
limits, the proof of work, and CSV cells that spreadsheets will not run (see :mod:`ohsc.prevention.tips`)."""

from __future__ import annotations

import hashlib
import ipaddress
import unicodedata

from ohsc.errors import InvalidInputError


def csv_safe(value: object) -> str:
    """A cell that spreadsheets will not run as a formula (OWASP CSV injection advice)."""
    text = "" if value is None else str(value)
    if text and (text[0] in "=+-@\t\r\n" or text.lstrip()[:1] in ("=", "+", "-", "@")):
        return "'" + text
    return text


def clean_tip_text(raw: str, limit: int) -> str:
    """NFC, newlines unified, control characters removed, trimmed; 1..limit characters."""
    if not isinstance(raw, str):
        raise InvalidInputError("the tip must be text")
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs", "Co"})
    text = text.strip()
    if not text:
        raise InvalidInputError("the tip is empty")
    if len(text) > limit:
        raise InvalidInputError(f"the tip is longer than {limit} characters")
    return text


def client_network(address: str | None) -> str:
    """The unit rate limits count: the IPv4 address, or the IPv6 /64 network."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address) + "/64"
    return str(ip)


def pow_ok(token: str, nonce: str, bits: int) -> bool:
    if bits <= 0:
        return True
    if not nonce or len(nonce) > 32 or not nonce.isdigit():
        return False
    digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
    value = int.from_bytes(digest, "big")
    return value >> (256 - bits) == 0


def solve_pow(token: str, bits: int) -> str:
    """What the page's script does: the first counter that satisfies :func:`pow_ok`."""
    n = 0
    while not pow_ok(token, str(n), bits):
        n += 1
    return str(n)
