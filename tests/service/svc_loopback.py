"""A tiny HTTP server on 127.0.0.1 for webhook and fetch tests (nothing leaves the machine)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Loopback:
    url: str
    port: int
    received: list[Received]
    #: decides the reply to each request (path -> Reply)
    responder: Callable[[Received], Reply]


@contextmanager
def loopback_server(
    responder: Callable[[Received], Reply] | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[Loopback]:
    received: list[Received] = []
    state = Loopback("", 0, received, responder or (lambda _r: Reply()))

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            req = Received(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            received.append(req)
            reply = state.responder(req)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.port = server.server_address[1]
    state.url = f"http://{host}:{state.port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
