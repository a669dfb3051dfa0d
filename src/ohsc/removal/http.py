"""The crawler's HTTP side: httpx through the shared egress guard, politeness per host, caps.

Why httpx and not Scrapy: the frontier must live in OHSC's database (a crawler killed with
``kill -9`` resumes from it, several crawlers share it, the web app shows it), every request must
go through the egress guard that webhooks and the URL fetcher use (:mod:`ohsc.net`: names
resolved once, internal addresses refused, DNS rebinding closed), and the crawl runs inside the
server's scheduled jobs and the CLI. Scrapy brings its own scheduler and its own on-disk job
state (pickled request queues), a Twisted reactor that cannot be restarted in one process and
does not share uvicorn's event loop, and a download stack that the guard would have to be
re-implemented for. httpx is already a dependency; a thread per connection is enough for the
target rates (the work per URL is hashing, not waiting).

* **Politeness** (:class:`HostGate`): at most ``OHSC_CRAWL_PER_HOST`` requests open to one host,
  and ``OHSC_CRAWL_DELAY_SECONDS`` between the starts of two requests to it.
* **Caps**: pages ``OHSC_CRAWL_MAX_PAGE_BYTES``, media ``OHSC_CRAWL_MAX_MEDIA_BYTES`` (the
  declared length is checked first, then the bytes read), ``OHSC_CRAWL_TIMEOUT_SECONDS`` for the
  whole request, ``OHSC_CRAWL_MAX_REDIRECTS`` redirects, each hop checked by the guard.
* **Names resolved once a minute**: the guard resolves a host's name before every request (and
  connects to the address it checked); the crawler keeps each name's answers for
  :data:`RESOLVE_TTL` seconds (:class:`CachedResolver`), so a site's pages and pictures cost one
  look-up, not one each. Every request still checks the answers against the policy.
* **Proxy**: ``OHSC_CRAWL_PROXY`` (``http://``, ``socks5://``; onion services through Tor's SOCKS
  port). The proxy resolves names, so with a proxy only the URL's form and literal addresses are
  checked here.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ohsc.errors import EgressRefusedError, EgressResolveError, InvalidInputError
from ohsc.net import EgressGuard, GuardedTransport, Resolver
from ohsc.settings import Settings
from ohsc.store.types import ascii_int

#: statuses followed as redirects (httpx's ``is_redirect`` also counts 304 Not Modified)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: seconds a crawler keeps a name's resolved addresses
RESOLVE_TTL = 60.0
#: names kept at most (the oldest go first)
RESOLVE_CACHE = 4096


class CachedResolver:
    """A resolver that keeps each (name, port)'s answers for ``ttl`` seconds (failures are not
    kept). Thread-safe. The guard checks the answers on every request, cached or not."""

    def __init__(self, resolver: Resolver, ttl: float = RESOLVE_TTL, size: int = RESOLVE_CACHE) -> None:
        self.resolver = resolver
        self.ttl = ttl
        self.size = size
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[str, int], tuple[float, list[str]]] = OrderedDict()

    def __call__(self, host: str, port: int) -> list[str]:
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get((host, port))
        if kept is not None and kept[0] > now:
            return list(kept[1])
        answers = self.resolver(host, port)
        with self._lock:
            self._answers[(host, port)] = (now + self.ttl, list(answers))
            self._answers.move_to_end((host, port))
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
        return answers


class FetchFailed(Exception):  # noqa: N818 - an outcome, not a programming error
    """A URL could not be fetched; ``reason`` is short and names no content."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: str | None = None

    @property
    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml")

    @property
    def is_media(self) -> bool:
        return self.content_type.startswith(("image/", "video/"))


class HostGate:
    """Per-host concurrency and spacing between requests."""

    def __init__(self, per_host: int, delay: float) -> None:
        self.per_host = per_host
        self.delay = delay
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(self.per_host)
        )
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            sem = self._slots[host]
        sem.acquire()
        try:
            if self.delay > 0:
                with self._lock:
                    now = time.monotonic()
                    start = max(now, self._next_start.get(host, 0.0))
                    self._next_start[host] = start + self.delay
                if start > now:
                    time.sleep(start - now)
            yield
        finally:
            sem.release()


class _ProxiedTransport(httpx.HTTPTransport):
    """Through a proxy: check the URL's form and literal addresses; the proxy resolves names."""

    def __init__(self, guard: EgressGuard, proxy: str) -> None:
        super().__init__(proxy=proxy)
        self.guard = guard

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.guard.check(str(request.url))
        return super().handle_request(request)


class CrawlHttp:
    """One crawler's HTTP client (thread-safe)."""

    def __init__(self, settings: Settings, guard: EgressGuard | None = None) -> None:
        self.settings = settings
        guard = guard or EgressGuard.from_settings(
            settings, allow_internal=settings.crawl_allow_private_targets
        )
        self.guard = dataclasses.replace(guard, resolver=CachedResolver(guard.resolver))
        transport: httpx.BaseTransport
        if settings.crawl_proxy:
            transport = _ProxiedTransport(self.guard, settings.crawl_proxy)
        else:
            transport = GuardedTransport(self.guard)
        self.client = httpx.Client(
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": settings.crawl_user_agent},
            timeout=httpx.Timeout(settings.crawl_timeout_seconds),
        )
        self.gate = HostGate(settings.crawl_per_host, settings.crawl_delay_seconds)

    def close(self) -> None:
        self.client.close()

    def get(
        self, url: str, *, limit: int, accept: str = "*/*", conditional: dict[str, str] | None = None
    ) -> Response:
        """GET ``url`` within the caps; raises :class:`FetchFailed` with a short reason."""
        deadline = time.monotonic() + self.settings.crawl_timeout_seconds
        for _hop in range(self.settings.crawl_max_redirects + 1):
            host = urlsplit(url).hostname or ""
            with self.gate.slot(host):
                response = self._send(url, accept, conditional, deadline)
                try:
                    if response.status_code in REDIRECTS:  # not 304 (httpx counts it as one)
                        location = response.headers.get("location")
                        if not location:
                            raise FetchFailed("redirect without a location", response.status_code)
                        url = urljoin(url, location)
                        continue
                    body = b"" if response.status_code != 200 else self._body(response, limit, deadline)
                    return Response(
                        url=url,
                        status=response.status_code,
                        content_type=response.headers.get("content-type", "").split(";")[0].strip().lower(),
                        body=body,
                        etag=response.headers.get("etag"),
                        last_modified=response.headers.get("last-modified"),
                    )
                finally:
                    response.close()
        raise FetchFailed(f"more than {self.settings.crawl_max_redirects} redirects")

    def _send(
        self, url: str, accept: str, conditional: dict[str, str] | None, deadline: float
    ) -> httpx.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed("timed out")
        headers: dict[str, Any] = {"Accept": accept, **(conditional or {})}
        try:
            request = self.client.build_request(
                "GET", url, headers=headers, extensions={"timeout": httpx.Timeout(remaining).as_dict()}
            )
            return self.client.send(request, stream=True)
        except EgressRefusedError as exc:
            raise FetchFailed(f"refused: {exc.message[:200]}") from None
        except EgressResolveError as exc:
            raise FetchFailed(exc.message[:200]) from None
        except InvalidInputError as exc:
            raise FetchFailed(exc.message[:200]) from None
        except httpx.TimeoutException:
            raise FetchFailed("timed out") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchFailed(f"failed: {type(exc).__name__}") from None

    @staticmethod
    def _body(response: httpx.Response, limit: int, deadline: float) -> bytes:
        declared = ascii_int(response.headers.get("content-length"))
        if declared is not None and declared > limit:
            raise FetchFailed(f"larger than {limit} bytes", response.status_code)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchFailed(f"larger than {limit} bytes", response.status_code)
                if time.monotonic() > deadline:
                    raise FetchFailed("timed out", response.status_code)
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise FetchFailed("timed out", response.status_code) from None
        except httpx.HTTPError as exc:
            raise FetchFailed(f"failed: {type(exc).__name__}", response.status_code) from None
        return b"".join(chunks)
