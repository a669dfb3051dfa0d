"""HTTP for exchanges: through the egress guard, with a time limit, and an answer size cap (a
partner, or whoever sits in between, cannot make a sync hold an unbounded page in memory)."""

from __future__ import annotations

from typing import Any

import httpx

from ohsc.errors import EgressRefusedError, EgressResolveError, ExchangeError
from ohsc.net.egress import EgressGuard
from ohsc.net.transport import guarded_client
from ohsc.settings import Settings

#: the largest answer read from an exchange (a page of 5000 feed items is about 1 MB)
MAX_ANSWER_BYTES = 64 * 1024 * 1024


def http_client(settings: Settings, **headers: str) -> httpx.Client:
    guard = EgressGuard.from_settings(settings)
    return guarded_client(guard, timeout=settings.exchange_timeout_seconds, headers=headers)


def fetch(client: httpx.Client, method: str, url: str, what: str, **kwargs: Any) -> tuple[int, bytes]:
    """(status, body) of one request; :class:`ExchangeError` when it cannot be made or the
    answer is larger than :data:`MAX_ANSWER_BYTES`."""
    try:
        with client.stream(method, url, **kwargs) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise ExchangeError(f"{what}: the answer is larger than {MAX_ANSWER_BYTES} bytes")
            return response.status_code, bytes(body)
    except httpx.HTTPError as exc:
        raise ExchangeError(f"{what}: {type(exc).__name__} calling {httpx.URL(url).path}") from None
    except (EgressRefusedError, EgressResolveError) as exc:  # an internal address OHSC_EGRESS_ALLOW lacks
        raise ExchangeError(f"{what}: {exc.message}") from None
