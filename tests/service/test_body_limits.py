"""Request bodies are capped per route class before they are read, and authenticated before a
byte is read (``ohsc.web.bodies``). Driven at the ASGI level, so the tests see exactly how much of
a body the app pulled; the real-server memory checks are in test_hostile_requests.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from svc_helpers import Env, image, make_env

from ohsc.settings import load_settings

KIB = 1024


@pytest.fixture
def small_env(tmp_path: Path) -> Iterator[Env]:
    settings = load_settings(
        home=tmp_path / "home",
        apikey_cache_seconds=0,
        form_max_bytes=8 * KIB,
        public_form_max_bytes=4 * KIB,
        json_max_bytes=16 * KIB,
        upload_max_bytes=256 * KIB,
        video_upload_max_bytes=256 * KIB,
        trace_max_upload_bytes=128 * KIB,
    )
    yield from make_env(settings)


class Exchange:
    """One request played against the app: how many body messages it pulled, what it answered."""

    def __init__(self, app: FastAPI, method: str, path: str, headers: dict[str, str], chunks: list[bytes]):
        self.app, self.method, self.path = app, method, path
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.chunks = chunks
        self.pulled = 0
        self.status = 0
        self.response_headers: dict[str, str] = {}
        self.body = b""

    async def _receive(self) -> MutableMapping[str, Any]:
        if self.pulled < len(self.chunks):
            self.pulled += 1
            more = self.pulled < len(self.chunks)
            return {"type": "http.request", "body": self.chunks[self.pulled - 1], "more_body": more}
        await asyncio.sleep(3600)  # the client has nothing more to send
        return {"type": "http.disconnect"}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.response_headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def run(self) -> Exchange:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), *self.headers],
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
        }
        asyncio.run(asyncio.wait_for(self.app(scope, self._receive, self._send), 60))
        return self

    @property
    def problem(self) -> dict[str, Any]:
        assert self.response_headers["content-type"] == "application/problem+json", self.response_headers
        out: dict[str, Any] = json.loads(self.body)
        return out


def _chunked(app: FastAPI, path: str, total: int, headers: dict[str, str], chunk: int = 4 * KIB) -> Exchange:
    chunks = [b"a" * chunk for _ in range(total // chunk)]
    return Exchange(app, "POST", path, {"transfer-encoding": "chunked", **headers}, chunks).run()


FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_anonymous_bodies_are_refused_before_a_byte_is_read(small_env: Env) -> None:
    app = small_env.app
    ui = _chunked(app, "/review/next", 64 * KIB, FORM)
    assert ui.pulled == 0
    assert ui.status == 303 and ui.response_headers["location"].startswith("/login")
    assert ui.response_headers["connection"] == "close"
    api = _chunked(app, "/v1/banks", 64 * KIB, {"content-type": "application/json"})
    assert api.pulled == 0
    assert api.status == 401 and api.problem["code"] == "unauthenticated"
    assert api.response_headers["www-authenticate"].startswith("Bearer")
    bad_key = {"authorization": "Bearer ohsc_" + "x" * 43, **FORM}
    assert _chunked(app, "/v1/match", 64 * KIB, bad_key).pulled == 0
    cookie = {"cookie": "ohsc_session=forged", **FORM}
    forged = _chunked(app, "/review/next", 64 * KIB, cookie)
    assert forged.pulled == 0 and forged.status == 303


def test_declared_lengths_over_the_cap_are_refused_unread(small_env: Env) -> None:
    app = small_env.app
    huge = {"content-length": str(10**12)}
    for path, headers, setting in [
        ("/login", FORM, "OHSC_PUBLIC_FORM_MAX_BYTES"),
        ("/review/next", FORM, "OHSC_FORM_MAX_BYTES"),
        ("/v1/banks", {"content-type": "application/json"}, "OHSC_JSON_MAX_BYTES"),
        ("/v1/match", {"content-type": "application/json"}, "OHSC_JSON_MAX_BYTES"),
        ("/v1/match", {"content-type": "multipart/form-data; boundary=x"}, "OHSC_UPLOAD_MAX_BYTES"),
        ("/v1/banks/b/import", {"content-type": "application/json"}, "OHSC_MAX_FILE_BYTES"),
    ]:
        ex = Exchange(app, "POST", path, {**huge, **headers}, [b"x" * KIB]).run()
        assert ex.pulled == 0, path
        assert ex.status == 413, (path, ex.status)
        assert ex.response_headers["connection"] == "close"
        assert ex.response_headers["x-content-type-options"] == "nosniff"  # still a secured answer
        if path.startswith("/v1/"):
            assert ex.problem["code"] == "body_too_large"
            assert setting in ex.problem["detail"]
        else:
            assert ex.response_headers["content-type"].startswith("text/html")
            assert setting.encode() in ex.body


def test_chunked_bodies_stop_at_their_class_cap(small_env: Env) -> None:
    env = small_env
    app = env.app
    key = env.key()
    login = _chunked(app, "/login", 1024 * KIB, FORM)
    assert login.status == 413 and login.pulled <= 4 * KIB // (4 * KIB) + 1
    assert b"OHSC_PUBLIC_FORM_MAX_BYTES" in login.body
    env.user("rita")
    client = TestClient(app)
    csrf = env.login(client, "rita")
    session = {"cookie": f"ohsc_session={client.cookies['ohsc_session']}", "x-csrf-token": csrf, **FORM}
    form = _chunked(app, "/review/next", 1024 * KIB, session)
    assert form.status == 413 and form.pulled == 8 * KIB // (4 * KIB) + 1
    as_json = {"content-type": "application/json", **key}
    for path in ("/v1/match", "/v1/banks/x/entries", "/v1/rules"):
        ex = _chunked(app, path, 1024 * KIB, {k.lower(): v for k, v in as_json.items()})
        assert ex.status == 413, (path, ex.status, ex.body[:200])
        assert ex.problem["code"] == "body_too_large" and "OHSC_JSON_MAX_BYTES" in ex.problem["detail"]
        assert ex.pulled == 16 * KIB // (4 * KIB) + 1
    upload = {"content-type": "application/octet-stream", **{k.lower(): v for k, v in key.items()}}
    ex = _chunked(app, "/v1/hash", 4096 * KIB, upload)
    assert ex.status == 413 and ex.problem["detail_data"]["limit"] == 256 * KIB + 64 * KIB
    assert ex.pulled == (256 + 64) // 4 + 1


def test_bodies_under_the_caps_work_chunked_or_not(small_env: Env) -> None:
    env = small_env
    env.bank("known")
    picture = image(3)
    assert len(picture) < 256 * KIB
    r = env.client.post("/v1/banks/known/entries", files={"file": ("x.jpg", picture)}, headers=env.key())
    assert r.status_code == 200, r.text

    def parts() -> Iterator[bytes]:
        for i in range(0, len(picture), 1000):
            yield picture[i : i + 1000]

    r = env.client.post("/v1/hash", content=parts(), headers={**env.key(), "content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "image"
    r = env.client.post("/v1/match", json={"signals": {"md5": "0" * 32}}, headers=env.key())
    assert r.status_code == 200, r.text


def test_forms_are_bounded_in_fields_and_files(small_env: Env) -> None:
    env = small_env
    env.user("rita")
    client = TestClient(env.app, raise_server_exceptions=False)
    csrf = env.login(client, "rita")
    many = "&".join(f"f{i}=" for i in range(1200)) + f"&csrf_token={csrf}"
    assert len(many) < 8 * KIB
    r = client.post("/review/next", content=many, headers=FORM, follow_redirects=False)
    assert r.status_code == 400, r.text
    files = {"a": ("a.txt", b"1"), "b": ("b.txt", b"2")}
    r = client.post("/review/next", files=files, data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 400, r.text
    r = client.post("/review/next", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303  # an ordinary form still goes through


def test_a_full_decoding_budget_answers_503_with_retry_after(tmp_path: Path) -> None:
    from ohsc.signals.budget import MIB, shared_budget

    settings = load_settings(home=tmp_path / "home", image_decode_budget_mb=48, image_decode_wait_seconds=0.2)
    for env in make_env(settings):
        with shared_budget(48 * MIB).hold(48 * MIB, 0):  # other requests hold it all
            r = env.client.post("/v1/hash", files={"file": ("x.jpg", image(2))}, headers=env.key())
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "decode_busy" and int(r.headers["retry-after"]) >= 1
        r = env.client.post("/v1/hash", files={"file": ("x.jpg", image(2))}, headers=env.key())
        assert r.status_code == 200, r.text
