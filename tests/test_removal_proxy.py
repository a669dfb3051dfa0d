"""OHSC_CRAWL_PROXY: every crawler request goes through the proxy (a forward proxy on loopback
here; Tor's SOCKS port in production), and literal internal addresses are still refused."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from ohsc.removal.crawler import Crawler
from ohsc.removal.frontier import Frontier
from ohsc.removal.http import CrawlHttp, FetchFailed
from ohsc.settings import load_settings
from ohsc.store.db import Store
from tests.removal_site import KNOWN, build_site, serve_site
from tests.test_removal_crawl import bank_known

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _Proxy(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)  # absolute-form: the proxy is asked for the whole URL
        try:
            with _DIRECT.open(self.path, timeout=10) as r:
                status, body, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status, body, ctype = exc.code, b"", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_crawl_through_a_proxy(tmp_path: Path, proxy: str) -> None:
    settings = load_settings(
        home=tmp_path / "home", crawl_allow_private_targets=True, crawl_delay_seconds=0, crawl_proxy=proxy
    )
    store = Store.from_settings(settings)
    root = tmp_path / "site"
    build_site(root)
    bank_known(store, settings, root)
    _Proxy.seen.clear()
    with serve_site(root) as site:
        Frontier(store, settings).add([site.url + "/index.html"], source="analyst")
        with Crawler.open(store, settings) as crawler:
            assert crawler.run(until_idle=True).takedowns == len(KNOWN)
        assert site.url + "/index.html" in _Proxy.seen
        assert all(u.startswith(site.url) for u in _Proxy.seen)
    store.dispose()


def test_a_proxy_does_not_open_internal_addresses(tmp_path: Path, proxy: str) -> None:
    settings = load_settings(home=tmp_path / "home", crawl_proxy=proxy)
    http = CrawlHttp(settings)
    _Proxy.seen.clear()
    for url in ("http://10.0.0.1/x.jpg", "http://169.254.169.254/latest/", "http://localhost/"):
        with pytest.raises(FetchFailed, match="refused"):
            http.get(url, limit=1000)
    http.close()
    assert _Proxy.seen == []
