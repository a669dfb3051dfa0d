"""The benchmarks' loopback test site with HTTP/1.1 keep-alive: a directory served by Python's
``http.server`` (the HTTP/1.0 site is ``python -m http.server``).

    python benchmarks/site_server.py PORT DIRECTORY

Connections stay open between requests, as web hosts keep them, with ``TCP_NODELAY``: without it
a response's headers and body go out as two small writes and wait ~40 ms on Nagle's algorithm
and the client's delayed ACK. A thread per connection, as ``python -m http.server``.
"""

from __future__ import annotations

import argparse
import functools
import http.server


class KeepAliveHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True


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
