"""The crawler's HTTP client: names are resolved once a minute, every answer is still checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohsc.errors import EgressResolveError
from ohsc.net import EgressGuard
from ohsc.removal.http import CachedResolver, CrawlHttp, FetchFailed
from ohsc.settings import load_settings
from tests.removal_site import build_site, serve_site


def test_a_site_costs_one_name_look_up_and_its_answers_are_checked_every_time(tmp_path: Path) -> None:
    asked: list[str] = []
    table = {"site.test": ["127.0.0.1"], "inside.test": ["10.0.0.7"]}

    def resolver(host: str, _port: int) -> list[str]:
        asked.append(host)
        return table[host]

    root = tmp_path / "site"
    build_site(root)
    allowed = load_settings(home=tmp_path / "h", egress_allow="site.test")
    http = CrawlHttp(allowed, EgressGuard.from_settings(allowed, resolver=resolver))
    with serve_site(root) as site:
        port = site.url.rsplit(":", 1)[1]
        for name in ("index.html", "page2.html", "media/k101.jpg"):
            assert http.get(f"http://site.test:{port}/{name}", limit=1 << 20).status == 200
        assert asked == ["site.test"]  # one look-up for the site's three URLs
        for _ in range(2):  # a name answering an internal address is refused, cached or not
            with pytest.raises(FetchFailed, match="refused"):
                http.get(f"http://inside.test:{port}/index.html", limit=1 << 20)
        assert asked == ["site.test", "inside.test"]
    http.close()


def test_cached_answers_run_out() -> None:
    calls: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        calls.append(host)
        if host == "bad.test":
            raise EgressResolveError("cannot resolve bad.test")
        return ["192.0.2.1"]

    cached = CachedResolver(resolver, ttl=0.0)
    cached("a.test", 80)
    cached("a.test", 80)
    assert calls == ["a.test", "a.test"]  # ttl 0: asked again
    kept = CachedResolver(resolver, ttl=60.0, size=1)
    kept("a.test", 80)
    kept("b.test", 80)  # size 1: a.test goes
    kept("b.test", 80)
    kept("a.test", 80)
    assert calls[2:] == ["a.test", "b.test", "a.test"]
    for _ in range(2):  # failures are not kept
        with pytest.raises(EgressResolveError, match=r"bad\.test"):
            kept("bad.test", 80)
    assert calls[-2:] == ["bad.test", "bad.test"]
