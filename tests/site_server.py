"""The loopback test site of the crawler's tests and benchmark: a directory served by Python's
``http.server`` in a second process, HTTP/1.0 (``python -m http.server``) or, with
``keep_alive``, HTTP/1.1 keeping connections open (this module run as a script):

    python tests/site_server.py PORT DIRECTORY

Connections stay open between requests, as web hosts keep them, with ``TCP_NODELAY``: without it
a response's headers and body go out as two small writes and wait ~40 ms on Nagle's algorithm
and the client's delayed ACK. A thread per connection, as ``python -m http.server``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
from pathlib import Path


class KeepAliveHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True


def site_command(port: int, root: Path, *, keep_alive: bool = False) -> list[str]:
    """The command that serves ``root`` on ``127.0.0.1:port``."""
    if keep_alive:
        return [sys.executable, str(Path(__file__).resolve()), str(port), str(root)]
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("directory")
    args = ap.parse_args()
    handler = functools.partial(KeepAliveHandler, directory=args.directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
