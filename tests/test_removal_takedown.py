"""Removal, part two, as the issue's "done when": a loopback site with known (banked) and unknown
pictures and a broken link; the crawl finds the known ones; a notice reaches a loopback SMTP
server (aiosmtpd) addressed to the host's RDAP abuse contact (a fake RDAP server on loopback);
re-checks notify again and escalate; once the pictures are removed, a re-check marks them removed
with a removal time."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from ohsc.removal.crawler import Crawler
from ohsc.removal.frontier import Frontier
from ohsc.removal.hosts import HostDirectory, parse_rdap
from ohsc.removal.models import TakedownRow
from ohsc.removal.notices import NoticeService
from ohsc.removal.recheck import Rechecker
from ohsc.removal.takedowns import TakedownService
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent
from ohsc.store.types import utcnow
from tests.removal_site import KNOWN, build_site, free_port, serve_site
from tests.test_removal_crawl import bank_known


def _vcard(name: str, email: str) -> list[Any]:
    return ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", name], ["email", {}, "text", email]]]


RDAP_ANSWER = {
    "objectClassName": "ip network",
    "handle": "NET-TEST-1",
    "startAddress": "127.0.0.0",
    "endAddress": "127.255.255.255",
    "ipVersion": "v4",
    "name": "EXAMPLE-HOSTING",
    "type": "ASSIGNED",
    "country": "NL",
    "cidr0_cidrs": [{"v4prefix": "127.0.0.0", "length": 8}],
    "entities": [
        {"objectClassName": "entity", "handle": "ORG-1", "roles": ["registrant"], "vcardArray": _vcard("Upstream", "noc@upstream.example"),
         "entities": [{"objectClassName": "entity", "handle": "ABUSE-1", "roles": ["abuse"], "vcardArray": _vcard("Abuse", "abuse@hosting.example")}]},
    ],
}  # fmt: skip


class _Rdap(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if self.path.startswith("/bootstrap/ip/"):  # the bootstrap service redirects to the registry
            self.send_response(302)
            self.send_header("Location", "/registry" + self.path.removeprefix("/bootstrap"))
            self.end_headers()
            return
        body = json.dumps(RDAP_ANSWER).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rdap+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rdap() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rdap)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bootstrap"
    finally:
        server.shutdown()
        server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, _Inbox]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}?starttls=0", inbox
    finally:
        controller.stop()


def removal_settings(home: Path, rdap_url: str, smtp_url: str) -> Settings:
    return load_settings(
        home=home,
        crawl_allow_private_targets=True,
        crawl_delay_seconds=0,
        rdap_url=rdap_url,
        smtp_url=smtp_url,
        removal_escalate_after=2,
    )


def test_parse_rdap_finds_the_abuse_and_upstream_contacts() -> None:
    parsed = parse_rdap(RDAP_ANSWER)
    assert parsed == {
        "network": "EXAMPLE-HOSTING",
        "cidr": "127.0.0.0/8",
        "country": "NL",
        "abuse_email": "abuse@hosting.example",
        "upstream_email": "noc@upstream.example",
    }


def test_found_notified_rechecked_removed(tmp_path: Path, rdap: str, smtp: tuple[str, _Inbox]) -> None:
    smtp_url, inbox = smtp
    settings = removal_settings(tmp_path / "home", rdap, smtp_url)
    store = Store.from_settings(settings)
    root = tmp_path / "site"
    build_site(root)
    bank_known(store, settings, root)
    with serve_site(root) as site:
        Frontier(store, settings, actor="cli:analyst").add([site.url + "/"], source="analyst")
        with Crawler.open(store, settings) as crawler:
            assert crawler.run(until_idle=True).takedowns == len(KNOWN)
        assert NoticeService(store, settings).notify_pending() == 1  # one message for the host
        assert len(inbox.messages) == 1
        rcpt, raw = inbox.messages[0]
        assert rcpt == ["abuse@hosting.example"]
        payload = message_from_bytes(raw).get_payload(decode=True)
        assert isinstance(payload, bytes)
        text = payload.decode()
        for t in TakedownService(store, settings).list_takedowns():
            assert t.url in text and str(t.md5) in text and str(t.pdq) in text
            assert (
                t.contact == "abuse@hosting.example" and t.network == "EXAMPLE-HOSTING" and t.country == "NL"
            )
            assert t.notices_sent == 1 and t.first_notice_at is not None
        assert "Legal basis" in text and "test-category" in text
        assert not any(p.read_bytes()[:32] in raw for p in site.known_files())  # never the media

        # a day later everything is still up: notified again, and (2nd notice) the upstream too
        checker = Rechecker(store, settings)
        later = utcnow() + timedelta(hours=25)
        stats = checker.run(now=later)
        assert (stats.checked, stats.still_up, stats.removed) == (len(KNOWN), len(KNOWN), 0)
        assert sorted(r for m in inbox.messages[1:] for r in m[0]) == [
            "abuse@hosting.example",
            "noc@upstream.example",
        ]
        assert all(t.escalated for t in TakedownService(store, settings).list_takedowns())

        # the host removes the pictures; the next re-check finds them gone
        for path in site.known_files():
            path.unlink()
        before = len(inbox.messages)
        stats = checker.run(now=later + timedelta(hours=25))
        checker.close()
        assert stats.removed == len(KNOWN) and stats.notices == 0
        assert len(inbox.messages) == before
    for t in TakedownService(store, settings).list_takedowns():
        assert t.status == "removed" and t.removed_reason == "http_404"
        assert t.removal_seconds is not None and t.removal_seconds >= 50 * 3600
    with store.session() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent))]
    assert actions.count("takedown.notice") == 3 and actions.count("takedown.removed") == len(KNOWN)
    store.dispose()


def test_operator_contact_wins_over_rdap(tmp_path: Path, rdap: str, smtp: tuple[str, _Inbox]) -> None:
    smtp_url, _inbox = smtp
    settings = removal_settings(tmp_path / "home", rdap, smtp_url)
    store = Store.from_settings(settings)
    hosts = HostDirectory(store, settings, actor="cli:op")
    assert hosts.lookup("127.0.0.1").contact == "abuse@hosting.example"
    hosts.add_contact("127.0.0.1", "reports@host.example", language="de")
    info = hosts.lookup("127.0.0.1")
    assert (info.contact, info.language, info.contact_source) == ("reports@host.example", "de", "operator")
    assert len([p for p in _Rdap.requests if p.startswith("/bootstrap")]) >= 1
    calls = len(_Rdap.requests)
    hosts.lookup("127.0.0.1")
    assert len(_Rdap.requests) == calls  # cached
    store.dispose()


def test_cli_takedown_contact_list_show(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ohsc.cli import main

    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})
    r = cli.invoke(main, ["takedown", "contact", "add", "Files.Example.org", "abuse@example.org"])
    assert r.exit_code == 0, r.output
    r = cli.invoke(main, ["takedown", "contact", "list", "--json"])
    assert json.loads(r.stdout) == {
        "host": "files.example.org",
        "email": "abuse@example.org",
        "language": "en",
        "added_by": json.loads(r.stdout)["added_by"],
    }
    assert cli.invoke(main, ["takedown", "contact", "add", "x.example", "not-an-email"]).exit_code == 2
    assert cli.invoke(main, ["takedown", "list", "--json"]).stdout == ""
    assert cli.invoke(main, ["takedown", "show", "99"]).exit_code == 4
    r = cli.invoke(main, ["takedown", "recheck", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["checked"] == 0


@pytest.mark.parametrize("keep_alive", [False, True], ids=["http-1.0", "http-1.1-keep-alive"])
def test_recheck_with_a_conditional_request_answered_304_is_still_up(
    tmp_path: Path, keep_alive: bool
) -> None:
    """httpx counts 304 as a redirect; a 304 was taken for a redirect without a location. A 304
    has no body: on a connection kept open, the next request still gets its own answer."""
    settings = load_settings(home=tmp_path / "home", crawl_allow_private_targets=True, crawl_delay_seconds=0)
    store = Store.from_settings(settings)
    root = tmp_path / "site"
    build_site(root)
    bank_known(store, settings, root)
    with serve_site(root, keep_alive=keep_alive) as site:
        Frontier(store, settings).add([site.url + "/media/k101.jpg"], source="analyst")
        with Crawler.open(store, settings) as crawler:
            assert crawler.run(until_idle=True).takedowns == 1
        checker = Rechecker(store, settings)
        first = checker.run(everything=True, notify=False)  # 200: the Last-Modified is kept
        second = checker.run(everything=True, notify=False)  # If-Modified-Since: 304
        checker.close()
    assert (first.still_up, second.still_up, second.unknown) == (1, 1, 0)
    [t] = TakedownService(store, settings).list_takedowns()
    with store.session() as s:
        row = s.get(TakedownRow, t.id)
        assert row is not None and row.last_check_status == 304
    store.dispose()


def test_done_when_through_the_command_line(tmp_path: Path, rdap: str, smtp: tuple[str, _Inbox]) -> None:
    """The issue's "done when", as an operator runs it: ``ohsc crawl add`` and ``crawl run
    --until-idle`` find the known pictures, the notice reaches the host's contact over SMTP, the
    host removes them, and ``ohsc takedown recheck`` marks them removed with a removal time."""
    from click.testing import CliRunner

    from ohsc.cli import main

    smtp_url, inbox = smtp
    env = {
        "OHSC_HOME": str(tmp_path / "home"),
        "OHSC_CRAWL_ALLOW_PRIVATE_TARGETS": "true",
        "OHSC_CRAWL_DELAY_SECONDS": "0",
        "OHSC_RDAP_URL": rdap,
        "OHSC_SMTP_URL": smtp_url,
    }
    cli = CliRunner(env=env)
    root = tmp_path / "site"
    build_site(root)

    def ok(*args: str) -> str:
        result = cli.invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    ok("bank", "create", "known")
    ok("bank", "add", "known", *map(str, sorted((root / "media").glob("k*.jpg"))))
    ok("takedown", "contact", "add", "127.0.0.1", "abuse@site.example")  # the operator's contact wins
    with serve_site(root) as site:
        ok("crawl", "add", site.url + "/index.html")
        stats = json.loads(ok("crawl", "run", "--until-idle", "--json"))
        assert (stats["takedowns"], stats["notices"]) == (len(KNOWN), 1)
        assert [m[0] for m in inbox.messages] == [["abuse@site.example"]]
        listed = [json.loads(line) for line in ok("takedown", "list", "--json").splitlines()]
        assert sorted(t["url"].rsplit("/", 1)[1] for t in listed) == ["k101.jpg", "k102.jpg", "k103.jpg"]
        for path in site.known_files():
            path.unlink()
        checked = json.loads(ok("takedown", "recheck", "--all", "--json"))
        assert (checked["checked"], checked["removed"], checked["notices"]) == (len(KNOWN), len(KNOWN), 0)
    for t in listed:
        shown = json.loads(ok("takedown", "show", str(t["id"]), "--json"))
        assert shown["status"] == "removed" and shown["removal_seconds"] is not None
    assert len(inbox.messages) == 1
