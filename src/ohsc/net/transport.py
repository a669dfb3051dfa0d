"""An httpx transport that connects only where the egress guard allows, to the address it checked.

``httpx.Client(transport=GuardedTransport(guard), trust_env=False)`` checks every request (so
every redirect hop too, when the client follows them): the host is resolved once by the guard,
each address is checked, and the connection goes to the first one, while the request keeps its
``Host`` header and TLS its server name (SNI and certificate check) of the URL. Connections are
pooled per (scheme, host, port), so a connection made for one name never carries another's
requests.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import httpx

from ohsc.net.egress import EgressGuard

#: pools kept open at once (one per scheme, host and port)
MAX_POOLS = 32


class GuardedTransport(httpx.BaseTransport):
    def __init__(self, guard: EgressGuard, **transport_options: Any) -> None:
        self.guard = guard
        self._options = transport_options
        self._pools: OrderedDict[tuple[str, str, int], httpx.HTTPTransport] = OrderedDict()
        self._lock = threading.Lock()

    def _pool(self, key: tuple[str, str, int]) -> httpx.HTTPTransport:
        with self._lock:
            pool = self._pools.pop(key, None) or httpx.HTTPTransport(**self._options)
            self._pools[key] = pool
            evicted = self._pools.popitem(last=False)[1] if len(self._pools) > MAX_POOLS else None
        if evicted is not None:
            evicted.close()
        return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.guard.resolve(str(request.url))
        if "host" not in request.headers:
            request.headers["Host"] = request.url.netloc.decode("ascii")
        request.url = request.url.copy_with(host=str(target.address))
        if target.scheme == "https" and not target.literal:
            request.extensions = {**request.extensions, "sni_hostname": target.host}
        return self._pool((target.scheme, target.host, target.port)).handle_request(request)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.close()


def guarded_client(guard: EgressGuard, **client_options: Any) -> httpx.Client:
    """An ``httpx.Client`` whose every request goes through ``guard`` (no proxies from the environment)."""
    return httpx.Client(transport=GuardedTransport(guard), trust_env=False, **client_options)
