"""Node to node: two `ohsc serve` processes with their own homes on loopback. A publishes a bank
to B's key; B subscribes with A's pinned public key, syncs and matches A's hashes; A retracts an
entry and B stops matching it; a page altered on the way is refused with nothing applied."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from svc_servers import ohsc_server

from ohsc.accounts.service import AccountService
from ohsc.settings import load_settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent

pytestmark = [pytest.mark.slow]

HASHES = [f"{0xA000 + i:032x}" for i in range(30)]


def _env(home: Path) -> dict[str, str]:
    return {
        "OHSC_HOME": str(home),
        "OHSC_CONTENT_KEY": base64.b64encode(os.urandom(32)).decode(),
        "OHSC_APIKEY_CACHE_SECONDS": "0",
        "OHSC_REFRESH_SECONDS": "0.2",
        "OHSC_EGRESS_ALLOW": "127.0.0.1/32",
        "OHSC_FEED_PAGE_SIZE": "7",  # several pages
    }


def ohsc(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("OHSC_")} | env
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ohsc")), *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def _key(env: dict[str, str], name: str, *scopes: str) -> str:
    settings = load_settings(home=Path(env["OHSC_HOME"]), content_key=env["OHSC_CONTENT_KEY"])
    store = Store.from_settings(settings)
    try:
        return AccountService(store, settings).create_api_key(name, list(scopes)).secret
    finally:
        store.dispose()


def _events(env: dict[str, str], action: str) -> list[AuditEvent]:
    settings = load_settings(home=Path(env["OHSC_HOME"]), content_key=env["OHSC_CONTENT_KEY"])
    store = Store.from_settings(settings)
    try:
        with store.session() as s:
            rows = s.query(AuditEvent).filter(AuditEvent.action == action).all()
            s.expunge_all()
            return rows
    finally:
        store.dispose()


@contextmanager
def forging_proxy(upstream: str) -> Iterator[str]:
    """Passes requests to ``upstream`` and changes one hash in every page it returns."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            r = httpx.get(upstream + self.path, headers={"authorization": self.headers["authorization"]})
            page = r.json()
            for item in page.get("items", []):
                if not item["withdrawn"]:
                    item["value"] = "f" * 32
                    break
            body = json.dumps(page).encode()
            self.send_response(r.status_code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _matched(url: str, key: str, value: str) -> list[str]:
    r = httpx.post(
        f"{url}/v1/match", json={"signals": {"md5": value}}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.text
    return sorted({m["bank"] for m in r.json()["matches"]})


def _sources(url: str, key: str, value: str) -> list[str]:
    r = httpx.post(
        f"{url}/v1/match", json={"signals": {"md5": value}}, headers={"Authorization": f"Bearer {key}"}
    )
    return sorted(src["source"] for m in r.json()["matches"] for src in m.get("sources", []))


def test_publish_subscribe_sync_match_retract_forge(tmp_path: Path) -> None:
    a_env, b_env = _env(tmp_path / "a"), _env(tmp_path / "b")
    ohsc(a_env, "bank", "create", "shared")
    rows = "signal_type,value,category\n" + "".join(f"md5,{h},placeholder-a\n" for h in HASHES)
    (tmp_path / "list.csv").write_text(rows)
    ohsc(a_env, "bank", "import", "shared", str(tmp_path / "list.csv"))
    ohsc(a_env, "bank", "create", "private")
    partner = _key(a_env, "node-b", "feed")
    outsider = _key(a_env, "node-c", "feed")
    ohsc(a_env, "feed", "publish", "shared", "--to", "node-b")
    public_key = ohsc(a_env, "feed", "key").stdout.strip()
    a_admin = _key(a_env, "a-admin", "bank-admin")
    b_match = _key(b_env, "b-match", "match")
    ohsc(b_env, "bank", "create", "from-a")

    with ohsc_server(a_env, tmp_path / "a.log") as a, ohsc_server(b_env, tmp_path / "b.log") as b:
        # the feed is per partner: another key with the feed scope sees nothing
        assert (
            httpx.get(f"{a.url}/v1/feeds/shared", headers={"Authorization": f"Bearer {outsider}"}).status_code
            == 404
        )
        assert (
            httpx.get(f"{a.url}/v1/feeds/private", headers={"Authorization": f"Bearer {partner}"}).status_code
            == 404
        )

        def feed(into: str) -> list[str]:
            # by hand only (--interval 0): B's server would otherwise sync it on its own schedule
            return [
                "--kind",
                "ohsc-feed",
                "--bank",
                "shared",
                "--into",
                into,
                "--public-key",
                public_key,
                "--interval",
                "0",
            ]

        ohsc(b_env, "exchange", "add", "a", "--url", a.url, "--api-key", partner, *feed("from-a"))
        done = ohsc(b_env, "exchange", "sync", "a", "--json")
        report = json.loads(done.stdout)
        assert report["added"] == len(HASHES) and report["pages"] == 5  # 30 entries, pages of 7
        assert partner not in (tmp_path / "b" / "ohsc.db").read_bytes().decode("latin-1")
        _wait(lambda: _matched(b.url, b_match, HASHES[0]) == ["from-a"])
        assert _matched(b.url, b_match, HASHES[-1]) == ["from-a"]

        # B's own list names HASHES[1] too: a second source of the same entry
        (tmp_path / "local.csv").write_text(f"signal_type,value,external_id\nmd5,{HASHES[1]},local-1\n")
        ohsc(b_env, "bank", "import", "from-a", str(tmp_path / "local.csv"))
        assert _sources(b.url, b_match, HASHES[1]) == ["exchange:a", "import"]

        # A withdraws two entries; B's next sync costs one page; the hash only A listed stops
        # matching, the one B's own list names too keeps matching
        for value in HASHES[:2]:
            r = httpx.post(
                f"{a.url}/v1/banks/shared/entries/md5:{value}/retract",
                json={"reason": "placeholder"},
                headers={"Authorization": f"Bearer {a_admin}"},
            )
            assert r.status_code == 200, r.text
        report = json.loads(ohsc(b_env, "exchange", "sync", "a", "--json").stdout)
        assert report["pages"] == 1
        _wait(lambda: _matched(b.url, b_match, HASHES[0]) == [])
        assert _matched(b.url, b_match, HASHES[1]) == ["from-a"]
        assert _sources(b.url, b_match, HASHES[1]) == ["import"]
        assert _matched(b.url, b_match, HASHES[2]) == ["from-a"]

        # a page altered on the way does not verify: refused, nothing applied, checkpoint kept
        ohsc(b_env, "bank", "create", "forged")
        with forging_proxy(a.url) as proxy:
            ohsc(b_env, "exchange", "add", "via-proxy", "--url", proxy, "--api-key", partner, *feed("forged"))
            done = ohsc(b_env, "exchange", "sync", "via-proxy", ok=False)
        assert done.returncode == 8 and "signature does not verify" in done.stderr
        listed = json.loads(ohsc(b_env, "bank", "show", "forged", "--json").stdout)
        assert listed["active_entries"] == 0
        info = [json.loads(x) for x in ohsc(b_env, "exchange", "list", "--json").stdout.splitlines()]
        assert {i["name"]: i["checkpoint"] for i in info}["via-proxy"] is None

    served = _events(a_env, "feed.page.serve")
    assert len(served) >= 6 and all(e.details["bank"] == "shared" for e in served)
    assert len(_events(b_env, "exchange.page")) == 6
    assert len(_events(b_env, "exchange.sync.failed")) == 1


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
