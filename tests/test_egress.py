"""The egress guard (ohsc.net): every spelling of an internal address is refused, names are
resolved once and every answer checked, OHSC_EGRESS_ALLOW lets an operator open ranges and hosts.
Nothing here connects anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohsc.errors import ConfigError, EgressRefusedError, EgressResolveError, InvalidInputError
from ohsc.net import EgressGuard
from ohsc.net.addresses import internal_reason, parse_host
from ohsc.settings import load_settings

#: every form the issue names, and a few more; each must be refused by default
INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://127.0.0.1/",
    "http://127.1/",
    "http://0.0.0.0/",  # unspecified
    "http://0/",
    "http://224.0.0.1/",  # multicast
    "http://255.255.255.255/",
    "http://0x7f000001/",  # hex
    "http://0X7F.0.0.1/",
    "http://2130706433/",  # decimal
    "http://0177.0.0.1/",  # octal
    "http://017700000001/",
    "http://0xa9fea9fe/",  # 169.254.169.254 in hex
    "http://127.0.0.1./",  # trailing dot
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[64:ff9b::7f00:1]/",  # NAT64 of loopback
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of metadata
    "http://[64:ff9b:1::1]/",  # local-use NAT64
    "http://[2002:7f00:1::]/",  # 6to4 of loopback
    "http://[2002:c0a8:101::1]/",  # 6to4 of 192.168.1.1
    "http://[fc00::1]/",  # unique local
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",  # link-local
    "http://[fe80::1%25eth0]/",
    "http://[fec0::1]/",  # site-local
    "http://[ff02::1]/",  # multicast
    "http://[2001:db8::1]/",  # documentation
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://127.0.0.1:8443/hook",
]

PUBLIC_URLS = [
    "http://93.184.216.34/",
    "https://8.8.8.8:8443/x",
    "http://[2606:4700::1111]/",
    "http://[::ffff:8.8.8.8]/",
    "http://[64:ff9b::808:808]/",  # NAT64 of a public address
    "http://[2002:808:808::1]/",  # 6to4 of a public address
    "http://0x08080808/",
]


def guard(allow: str = "", answers: dict[str, list[str]] | None = None) -> EgressGuard:
    settings = load_settings(egress_allow=allow)
    table = answers or {}

    def resolver(host: str, _port: int) -> list[str]:
        if host not in table:
            raise EgressResolveError(f"cannot resolve {host}")
        return table[host]

    return EgressGuard.from_settings(settings, resolver=resolver)


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_targets_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(EgressRefusedError, match="OHSC_EGRESS_ALLOW"):
        guard().check(url)
    with pytest.raises(EgressRefusedError):
        guard().resolve(url)


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_addresses_pass(url: str) -> None:
    target = guard().resolve(url)
    assert internal_reason(target.address) is None


def test_encoded_forms_are_the_addresses_they_stand_for() -> None:
    for host in ("0x7f000001", "2130706433", "0177.0.0.1", "127.1", "0x7f.1", "127.0.0.1."):
        assert str(parse_host(host)) == "127.0.0.1", host
    assert str(parse_host("[::ffff:7f00:1]")) == "::ffff:7f00:1"
    assert parse_host("Hooks.Example.COM.") == "hooks.example.com"
    assert parse_host("bücher.example") == "xn--bcher-kva.example"
    for bad in ("1.2.3.4.5", "256.0.0.1", "0x1g.0.0.1", "1.2.3.08", "a..b", "exa mple.com"):
        with pytest.raises(ValueError, match="not a valid"):
            parse_host(bad)


def test_bad_urls_are_invalid_input() -> None:
    for url in ("ftp://example.com/", "http:///x", "http://user:pw@example.com/", "http://256.1.1.1/",
                "http://example.com:99999/", "http://[::1/"):  # fmt: skip
        with pytest.raises(InvalidInputError):
            guard().check(url)


def test_names_are_resolved_and_every_answer_checked() -> None:
    g = guard(answers={"hooks.test": ["93.184.216.34", "10.0.0.7"], "ok.test": ["93.184.216.34"],
                       "meta.test": ["169.254.169.254"], "v6.test": ["::ffff:127.0.0.1"]})  # fmt: skip
    with pytest.raises(EgressRefusedError, match=r"hooks\.test resolves to a private address"):
        g.resolve("http://hooks.test/x")
    with pytest.raises(EgressRefusedError, match="link-local"):
        g.resolve("http://meta.test/x")
    with pytest.raises(EgressRefusedError, match="IPv4-mapped loopback"):
        g.resolve("http://v6.test/x")
    target = g.resolve("https://OK.test./x")
    assert (target.host, target.port, str(target.address)) == ("ok.test", 443, "93.184.216.34")
    with pytest.raises(EgressResolveError):
        g.resolve("http://nowhere.test/")
    # the static check does not resolve names (creation time may be offline)
    assert g.check("http://nowhere.test/") == "nowhere.test"


def test_operators_allow_ranges_and_hosts() -> None:
    g = guard("127.0.0.1/32, 10.1.0.0/16, .corp.test, [fd00::/8]",
              answers={"hooks.corp.test": ["10.9.9.9"], "x.test": ["10.1.2.3"], "y.test": ["10.2.0.1"]})  # fmt: skip
    for url in ("http://127.0.0.1:9/", "http://0x7f000001/", "http://[::ffff:127.0.0.1]/", "http://[fd00::5]/",
                "http://hooks.corp.test/", "http://corp.test./", "http://localhost:9/"):  # fmt: skip
        g.check(url)
    assert str(g.resolve("http://x.test/").address) == "10.1.2.3"
    assert str(g.resolve("http://hooks.corp.test/").address) == "10.9.9.9"  # the name is allowed
    for url in ("http://127.0.0.2/", "http://[::1]/", "http://169.254.169.254/"):
        with pytest.raises(EgressRefusedError):
            g.check(url)
    with pytest.raises(EgressRefusedError):
        g.resolve("http://y.test/")


def test_a_bad_allow_list_is_a_config_error(tmp_path: Path) -> None:
    for bad in ("10.0.0.0/33", "300.1.1.1", "not a host", "::1/200"):
        with pytest.raises(ConfigError, match="OHSC_EGRESS_ALLOW"):
            EgressGuard.from_settings(load_settings(home=tmp_path, egress_allow=bad))
