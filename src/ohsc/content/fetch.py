"""Fetch media from a URL for ``/v1/match`` (off unless ``OHSC_FETCH_ENABLED``).

Guards: the host must be on ``OHSC_FETCH_ALLOWED_HOSTS``; the egress guard (:mod:`ohsc.net`,
shared with webhooks) resolves it once, refuses internal addresses unless ``OHSC_EGRESS_ALLOW``
allows them, and connects to the address it checked; redirects are followed by hand, at most
three, each hop checked the same way; the body is capped at ``OHSC_FETCH_MAX_BYTES`` and the whole
fetch at ``OHSC_FETCH_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from ohsc.errors import (
    EgressRefusedError,
    EgressResolveError,
    FetchError,
    FetchRefusedError,
    InvalidInputError,
)
from ohsc.net import EgressGuard, Resolver, guarded_client
from ohsc.settings import Settings
from ohsc.store.types import ascii_int

MAX_REDIRECTS = 3


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
    def __init__(self, settings: Settings, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.allowed = settings.fetch_hosts()
        self.guard = EgressGuard.from_settings(
            settings, resolver=resolver, allow_internal=settings.fetch_allow_private
        )

    def _check(self, url: str) -> None:
        """The URL's form, its host on ``OHSC_FETCH_ALLOWED_HOSTS``, and no internal address in it."""
        if len(url) > 4000:
            raise InvalidInputError("url is too long")
        try:
            host = self.guard.check(url)
        except EgressRefusedError as exc:
            raise FetchRefusedError(exc.message) from None
        except InvalidInputError as exc:
            if "credentials" in exc.message:
                raise FetchRefusedError("URLs with credentials are not fetched") from None
            raise InvalidInputError("url must be an http:// or https:// URL") from None
        if not host_allowed(str(host), self.allowed):
            raise FetchRefusedError(f"host {host} is not on OHSC_FETCH_ALLOWED_HOSTS")

    def fetch(self, url: str) -> Fetched:
        if not self.settings.fetch_enabled:
            raise FetchRefusedError("fetching URLs is switched off (OHSC_FETCH_ENABLED)")
        deadline = time.monotonic() + self.settings.fetch_timeout_seconds
        with guarded_client(self.guard, follow_redirects=False) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                self._check(url)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FetchError("fetch timed out")
                try:
                    request = client.build_request(
                        "GET",
                        url,
                        headers={"User-Agent": "ohsc-fetch/1", "Accept": "image/*,video/*"},
                        extensions={"timeout": httpx.Timeout(remaining).as_dict()},
                    )
                except httpx.InvalidURL:
                    raise InvalidInputError("url must be an http:// or https:// URL") from None
                try:
                    response = client.send(request, stream=True)
                except EgressRefusedError as exc:
                    raise FetchRefusedError(exc.message) from None
                except EgressResolveError as exc:
                    raise FetchError(exc.message) from None
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
                    return Fetched(self._body(response, deadline), url, response.headers.get("content-type"))
                finally:
                    response.close()
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _body(self, response: httpx.Response, deadline: float) -> bytes:
        limit = self.settings.fetch_max_bytes
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
                    raise FetchError(f"remote file is larger than {limit} bytes (OHSC_FETCH_MAX_BYTES)")
                if time.monotonic() > deadline:
                    raise FetchError("fetch timed out")
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise FetchError("fetch timed out") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"fetch failed: {type(exc).__name__}") from None
        return b"".join(chunks)
