"""URL fetching for /v1/match: off by default; allow-listed hosts, public addresses only, size cap,
timeout, redirects checked hop by hop. Only loopback servers the tests start are contacted."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from svc_helpers import image, make_env
from svc_loopback import Reply, loopback_server

from ohsc.content.fetch import Fetcher, host_allowed
from ohsc.errors import FetchError, FetchRefusedError
from ohsc.net.addresses import internal_reason
from ohsc.settings import load_settings


def test_address_classes() -> None:
    for private in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254", "::1", "fe80::1",
                    "fc00::1", "0.0.0.0", "100.64.0.1", "::ffff:127.0.0.1", "224.0.0.1"):  # noqa: S104  # fmt: skip
        assert internal_reason(ipaddress.ip_address(private)), private
    for public in ("93.184.216.34", "2606:4700::1111", "8.8.8.8"):
        assert internal_reason(ipaddress.ip_address(public)) is None, public


def test_host_allow_list() -> None:
    assert host_allowed("media.example.com", [".example.com"])
    assert host_allowed("example.com", [".example.com"])
    assert not host_allowed("evilexample.com", [".example.com"])
    assert host_allowed("cdn.test", ["cdn.test"])
    assert not host_allowed("x.cdn.test", ["cdn.test"])


def test_off_by_default(tmp_path: Path) -> None:
    with pytest.raises(FetchRefusedError, match="switched off"):
        Fetcher(load_settings(home=tmp_path)).fetch("http://127.0.0.1/x")


def test_loopback_refused_even_when_allow_listed(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, fetch_enabled=True, fetch_allowed_hosts="127.0.0.1,localhost")
    with loopback_server() as server:
        with pytest.raises(FetchRefusedError, match="internal targets are refused"):
            Fetcher(settings).fetch(server.url + "/a.jpg")
        assert server.received == []
    with pytest.raises(FetchRefusedError, match="internal targets are refused"):
        Fetcher(settings, resolver=lambda _h, _p: ["169.254.169.254"]).fetch(
            "http://localhost/latest/meta-data"
        )


def test_redirect_to_private_address_refused(tmp_path: Path) -> None:
    """An allowed host redirects to a name that resolves to a link-local address: each hop is
    resolved and checked, and the second is never requested."""
    settings = load_settings(
        home=tmp_path,
        fetch_enabled=True,
        fetch_allowed_hosts="media.test,inner.test",
        egress_allow="127.0.0.1",
    )
    with loopback_server(lambda _r: Reply(302, b"", {"Location": "http://inner.test/x"})) as server:
        answers = {"media.test": ["127.0.0.1"], "inner.test": ["169.254.169.254"]}
        fetcher = Fetcher(settings, resolver=lambda h, _p: answers[h])
        with pytest.raises(FetchRefusedError, match=r"inner\.test resolves to a link-local address"):
            fetcher.fetch(f"http://media.test:{server.port}/a.jpg")
        assert [r.headers["host"] for r in server.received] == [f"media.test:{server.port}"]


def test_allowed_fetch_limits_and_match(tmp_path: Path) -> None:
    settings = load_settings(
        home=tmp_path / "home",
        fetch_enabled=True,
        fetch_allowed_hosts="127.0.0.1",
        egress_allow="127.0.0.1/32",  # the loopback test server stands in for a public host
        fetch_max_bytes=200_000,
        fetch_timeout_seconds=1.0,
    )
    payload = image(60)

    def respond(req: object) -> Reply:
        path = getattr(req, "path", "")
        if path == "/big":
            return Reply(body=b"x" * 300_000)
        if path == "/slow":
            return Reply(body=payload, delay=2.0)
        if path == "/hop":
            return Reply(302, b"", {"Location": "http://elsewhere.test/a.jpg"})
        if path == "/missing":
            return Reply(404, b"")
        return Reply(body=payload, headers={"Content-Type": "image/jpeg"})

    with loopback_server(respond) as server:
        fetcher = Fetcher(settings)
        assert fetcher.fetch(server.url + "/a.jpg").data == payload
        with pytest.raises(FetchError, match="larger than"):
            fetcher.fetch(server.url + "/big")
        with pytest.raises(FetchError, match="timed out"):
            fetcher.fetch(server.url + "/slow")
        with pytest.raises(FetchRefusedError, match=r"elsewhere\.test"):
            fetcher.fetch(server.url + "/hop")
        with pytest.raises(FetchError, match="HTTP 404"):
            fetcher.fetch(server.url + "/missing")
        for env in make_env(settings):
            env.bank("known")
            env.add_image("known", 60)
            r = env.client.post(
                "/v1/match", json={"url": server.url + "/a.jpg", "content_id": "u1"}, headers=env.key("match")
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["matched"]
            assert body["review_item_id"]
            again = env.client.post(
                "/v1/match", json={"url": server.url + "/a.jpg", "content_id": "u1"}, headers=env.key("match")
            )
            assert again.json()["replayed"] is True
            refused = env.client.post(
                "/v1/match", json={"url": "http://10.0.0.1/a.jpg"}, headers=env.key("match")
            )
            assert refused.status_code == 403
            assert refused.json()["code"] == "fetch_refused"
