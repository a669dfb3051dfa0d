"""Host names and addresses as a connection would see them, and which addresses are internal.

:func:`parse_host` reads a URL host the way browsers (WHATWG URL) and ``inet_aton`` do, so the
encoded forms of an address (``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``127.1``, a
trailing dot) are recognised as the address they stand for. :func:`internal_reason` says why an
address must not be reached from a server (loopback, private, link-local, metadata, multicast,
reserved, ...), looking through the IPv6 forms that carry an IPv4 address (``::ffff:a.b.c.d``,
``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``).
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

#: Internal IPv4 ranges and what they are (IANA special-purpose registry, RFC 6890 and later).
_V4_INTERNAL: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified ('this network') address"),
    (_V4("10.0.0.0/8"), "private address"),
    (_V4("100.64.0.0/10"), "shared (carrier-grade NAT) address"),
    (_V4("127.0.0.0/8"), "loopback address"),
    (_V4("169.254.0.0/16"), "link-local address (cloud metadata)"),
    (_V4("172.16.0.0/12"), "private address"),
    (_V4("192.0.0.0/24"), "IETF protocol address"),
    (_V4("192.0.2.0/24"), "documentation address"),
    (_V4("192.88.99.0/24"), "6to4 relay address"),
    (_V4("192.168.0.0/16"), "private address"),
    (_V4("198.18.0.0/15"), "benchmarking address"),
    (_V4("198.51.100.0/24"), "documentation address"),
    (_V4("203.0.113.0/24"), "documentation address"),
    (_V4("224.0.0.0/4"), "multicast address"),
    (_V4("240.0.0.0/4"), "reserved or broadcast address"),
)

_V6_INTERNAL: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified address"),
    (_V6("::1/128"), "loopback address"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64 address"),
    (_V6("100::/64"), "discard-only address"),
    (_V6("2001::/32"), "Teredo tunnel address"),
    (_V6("2001:db8::/32"), "documentation address"),
    (_V6("3fff::/20"), "documentation address"),
    (_V6("fc00::/7"), "unique local (private) address"),
    (_V6("fe80::/10"), "link-local address"),
    (_V6("fec0::/10"), "site-local address"),
    (_V6("ff00::/8"), "multicast address"),
)

#: IPv6 forms that carry an IPv4 address, and how to read it out.
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")
_COMPAT = _V6("::/96")

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


class HostError(ValueError):
    """A URL host that is neither a valid name nor a valid address."""


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 host (decimal, 0x-hex or 0-octal); None when not a number."""
    if part[:2].lower() == "0x":
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if digits == "":
        return 0
    try:
        return int(digits, base) if digits.isascii() and digits.isalnum() else None
    except ValueError:
        return None


def _ends_in_number(parts: list[str]) -> bool:
    last = parts[-1]
    return last.isascii() and (last.isdigit() or bool(re.fullmatch(r"0[xX][0-9a-fA-F]*", last)))


def _parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The WHATWG IPv4 parser (what browsers and ``inet_aton`` accept); None when ``host`` is a name."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not parts or not _ends_in_number(parts):
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if len(parts) > 4 or any(p == "" for p in parts) or any(n is None for n in numbers):
        raise HostError(f"{host!r} is not a valid IPv4 address")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise HostError(f"{host!r} is not a valid IPv4 address")
    address = values[-1]
    for i, n in enumerate(values[:-1]):
        address += n << (8 * (3 - i))
    return ipaddress.IPv4Address(address)


def parse_host(host: str) -> IPAddress | str:
    """An address (for any spelling of one) or a normalised host name (lower case, no final dot)."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise HostError(f"{host!r} is not a valid IPv6 address") from None
    host = host.lower()
    v4 = _parse_ipv4(host)
    if v4 is not None:
        return v4
    name = host.rstrip(".")
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        raise HostError(f"{host!r} is not a valid host name") from None
    if not ascii_name or len(ascii_name) > 253 or not all(_LABEL.match(x) for x in ascii_name.split(".")):
        raise HostError(f"{host!r} is not a valid host name")
    return ascii_name


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4) and the form."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    if address in _COMPAT and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "IPv4-compatible"
    return None


def internal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is internal (not a public unicast address), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # without a zone id
        for network, why in _V6_INTERNAL:
            if address in network:
                return why
        inner = embedded_ipv4(address)
        if inner is not None:
            why_inner = internal_reason(inner[0])
            return f"{inner[1]} {why_inner}" if why_inner else None
        return None if address.is_global else "reserved address"
    for network4, why in _V4_INTERNAL:
        if address in network4:
            return why
    return None if address.is_global else "reserved address"


def in_networks(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    """Whether ``address`` (or the IPv4 address it carries) lies in one of ``networks``."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner[0])
    return any(a.version == n.version and a in n for a in candidates for n in networks)
