"""What the body guard (``ohsc.web.bodies.BodyGuard``) costs a hash-only ``POST /v1/match``.

Everything runs in one process, on one event loop, without HTTP, so the load of a shared machine
hits both sides alike. Measured in turns (so drifts in machine load fall on both):

* the reference: the whole app (security headers, guard, match shortcut, index lookup, content
  record) answering a hash-only ``/v1/match`` with a cached API key;
* the guard alone in front of an app that answers at once, minus that app without the guard.

    python benchmarks/bench_body_guard.py --requests 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ohsc.settings import load_settings
from ohsc.store.db import Store
from ohsc.web.app import create_app
from ohsc.web.bodies import BodyGuard

BODY = json.dumps({"signals": {"pdq": "f" * 64}}).encode()


def _scope(app: Any, key: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/match",
        "raw_path": b"/v1/match",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
            (b"authorization", f"Bearer {key}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "app": app,
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def _drop(_message: dict[str, Any]) -> None:
    pass


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _time(call: Any, scope_of: Any, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await call(scope_of(), _receive, _drop)
    return (time.perf_counter() - started) / n * 1e6


async def run(requests: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=Path(tmp), match_rate_per_minute=0, apikey_cache_seconds=3600)
        store = Store.from_settings(settings)
        app = create_app(settings, store=store, background=False)
        services = app.state.services
        services.load_indexes()
        key = services.accounts.create_api_key("bench", ["match"]).secret
        services.accounts.check_api_key(key)  # cached, as on a warm server
        guard = BodyGuard(_answer)
        whole, alone, bare = [], [], []
        for _ in range(rounds):
            whole.append(await _time(app, lambda: _scope(app, key), requests // rounds))
            alone.append(await _time(guard, lambda: _scope(app, key), requests // rounds))
            bare.append(await _time(_answer, lambda: _scope(app, key), requests // rounds))
        services.writer.close()
        store.dispose()
    match_us = statistics.median(whole)
    guard_us = statistics.median(a - b for a, b in zip(alone, bare, strict=True))
    return {
        "benchmark": "body_guard",
        "requests": requests,
        "match_request_us": round(match_us, 1),
        "guard_us": round(guard_us, 2),
        "guard_share_of_match": round(guard_us / match_us, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.rounds))
    print(json.dumps(result, indent=2))
    print(
        f"guard: {result['guard_us']} us of a {result['match_request_us']} us match request", file=sys.stderr
    )


if __name__ == "__main__":
    main()
