"""Fetch media from a URL for ``/v1/match`` (off unless ``OHSC_FETCH_ENABLED``).

Guards: the host must be on ``OHSC_FETCH_ALLOWED_HOSTS``; every address it resolves to must be
public (not private, loopback, link-local, multicast, reserved or unspecified) unless
``OHSC_FETCH_ALLOW_PRIVATE``; the connection goes to the address that was checked (no second
DNS answer can swap it); redirects are followed by hand, at most three, each hop checked the
same way; the body is capped at ``OHSC_FETCH_MAX_BYTES`` and the whole fetch at
``OHSC_FETCH_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ohsc.errors import FetchError, FetchRefusedError, InvalidInputError
from ohsc.settings import Settings
from ohsc.store.types import ascii_int

MAX_REDIRECTS = 3

Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror}") from None
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


def host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("."):
            if host.endswith(entry) or host == entry[1:]:
                return True
        elif host == entry:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    url: str
    content_type: str | None


class Fetcher:
    def __init__(self, settings: Settings, resolver: Resolver = system_resolver) -> None:
        self.settings = settings
        self.allowed = settings.fetch_hosts()
        self.resolver = resolver

    def _target(self, url: str) -> tuple[str, str, str]:
        """Check one URL; returns (url to connect to, Host header, SNI host name)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInputError("url must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise FetchRefusedError("URLs with credentials are not fetched")
        host = parts.hostname.lower()
        if not host_allowed(host, self.allowed):
            raise FetchRefusedError(f"host {host} is not on OHSC_FETCH_ALLOWED_HOSTS")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = self.resolver(host, port)
        if not addresses:
            raise FetchError(f"cannot resolve {host}")
        if not self.settings.fetch_allow_private:
            blocked = [a for a in addresses if not is_public_address(a)]
            if blocked:
                raise FetchRefusedError(f"host {host} resolves to a non-public address")
        address = addresses[0]
        netloc_ip = f"[{address}]" if ":" in address else address
        pinned = urlunsplit((parts.scheme, f"{netloc_ip}:{port}", parts.path or "/", parts.query, ""))
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        return pinned, host_header, host

    def fetch(self, url: str) -> Fetched:
        if not self.settings.fetch_enabled:
            raise FetchRefusedError("fetching URLs is switched off (OHSC_FETCH_ENABLED)")
        if len(url) > 4000:
            raise InvalidInputError("url is too long")
        deadline = time.monotonic() + self.settings.fetch_timeout_seconds
        limit = self.settings.fetch_max_bytes
        with httpx.Client(follow_redirects=False, trust_env=False) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                pinned, host_header, sni = self._target(url)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FetchError("fetch timed out")
                request = client.build_request(
                    "GET",
                    pinned,
                    headers={"Host": host_header, "User-Agent": "ohsc-fetch/1", "Accept": "image/*,video/*"},
                    extensions={"sni_hostname": sni, "timeout": httpx.Timeout(remaining).as_dict()},
                )
                try:
                    response = client.send(request, stream=True)
                except httpx.TimeoutException:
                    raise FetchError("fetch timed out") from None
                except httpx.HTTPError as exc:
                    raise FetchError(f"fetch failed: {type(exc).__name__}") from None
                try:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError("redirect without a location")
                        url = urljoin(url, location)
                        continue
                    if response.status_code != 200:
                        raise FetchError(f"fetch failed: HTTP {response.status_code}")
                    declared = ascii_int(response.headers.get("content-length"))
                    if declared is not None and declared > limit:
                        raise FetchError(f"remote file is larger than {limit} bytes (OHSC_FETCH_MAX_BYTES)")
                    chunks: list[bytes] = []
                    size = 0
                    try:
                        for chunk in response.iter_bytes():
                            size += len(chunk)
                            if size > limit:
                                raise FetchError(
                                    f"remote file is larger than {limit} bytes (OHSC_FETCH_MAX_BYTES)"
                                )
                            if time.monotonic() > deadline:
                                raise FetchError("fetch timed out")
                            chunks.append(chunk)
                    except httpx.TimeoutException:
                        raise FetchError("fetch timed out") from None
                    except httpx.HTTPError as exc:
                        raise FetchError(f"fetch failed: {type(exc).__name__}") from None
                    return Fetched(b"".join(chunks), url, response.headers.get("content-type"))
                finally:
                    response.close()
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")
