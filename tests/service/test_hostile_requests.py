"""Hostile requests against a real ``ohsc serve`` process on loopback, measured by the growth of
the server's resident memory (``/proc/PID/status``): huge chunked forms and multipart parts,
chunked JSON past the API limit, and pictures that are small on the wire and huge decoded.
Bodies and pictures are generated here, as the requests are sent."""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from svc_servers import Server, ohsc_server
from tests.images import flat_png

from ohsc.accounts.service import AccountService
from ohsc.settings import load_settings
from ohsc.store.db import Store

MIB = 1 << 20

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="reads the server's memory from /proc (Linux)"
)


class Memory:
    """Resident memory of a process: now, and the peak since :meth:`reset`."""

    def __init__(self, pid: int) -> None:
        self.status = Path(f"/proc/{pid}/status")
        self.clear_refs = Path(f"/proc/{pid}/clear_refs")

    def _field(self, name: str) -> int:
        for line in self.status.read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {name} in {self.status}")

    def reset(self) -> int:
        """Start a measurement: the peak is set back to the current size, which is returned."""
        self.clear_refs.write_text("5")
        return self._field("VmRSS")

    def peak(self) -> int:
        return self._field("VmHWM")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the server took before it answered


def post(
    port: int,
    path: str,
    headers: dict[str, str],
    chunks: Iterator[bytes],
    *,
    chunked: bool = True,
) -> Answer:
    """POST ``chunks`` (chunked transfer coding unless ``chunked`` is false and a Content-Length
    is given), stopping as soon as the server answers or closes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sent = 0
    try:
        sock.sendall(head.encode("latin-1"))
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered (or closed) before the body ended
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < _expected(data):
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except (ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    assert data, f"no answer after {sent} bytes"
    head_text, _, body = data.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return Answer(int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body, sent)


def _expected(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(head) + 4 + int(line.split(b":")[1])
    return len(data) + 1


def fields(count: int, size: int) -> Iterator[bytes]:
    """``count`` urlencoded fields of ``size`` bytes each, in pieces of a quarter of that."""
    piece = b"a" * (size // 4)
    for i in range(count):
        yield f"f{i}=".encode()
        for _ in range(4):
            yield piece
        yield b"&"


def multipart_part(boundary: str, size: int) -> Iterator[bytes]:
    """One file part of ``size`` bytes (never held whole)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    piece = b"\x00" * MIB
    for _ in range(size // MIB):
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


@dataclass
class Target:
    server: Server
    port: int
    key: str
    memory: Memory


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    settings = load_settings(home=home)
    store = Store.from_settings(settings)
    key = AccountService(store, settings).create_api_key("hostile", ["match", "bank-admin"]).secret
    store.dispose()
    env = {
        "OHSC_HOME": str(home),
        "OHSC_LOG_LEVEL": "WARNING",
        "OHSC_UPLOAD_MAX_BYTES": str(8 * MIB),
        "OHSC_VIDEO_UPLOAD_MAX_BYTES": str(8 * MIB),
        "OHSC_JSON_MAX_BYTES": str(MIB),
        "OHSC_IMAGE_DECODE_MAX_MB": "160",
        "OHSC_IMAGE_DECODE_BUDGET_MB": "200",
        "OHSC_IMAGE_DECODE_WAIT_SECONDS": "120",
    }
    with ohsc_server(env, home.parent / "server.log") as server:
        port = int(server.url.rsplit(":", 1)[1])
        yield Target(server, port, key, Memory(server.process.pid))


def _grew(target: Target, before: int) -> float:
    return (target.memory.peak() - before) / MIB


def test_anonymous_forms_cannot_grow_the_server(target: Target) -> None:
    """300 one-megabyte fields, chunked, to the login form and to a form behind the login."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path, status in (("/login", 413), ("/review/next", 303)):
        before = target.memory.reset()
        answer = post(target.port, path, form, fields(300, 1_000_000))
        grew = _grew(target, before)
        assert grew < 32, f"{path}: the server grew by {grew:.0f} MiB"
        assert answer.sent < 64 * MIB, (path, answer.sent)
        assert answer.status == status, (path, answer.status, answer.body[:300])


def test_a_gigabyte_multipart_part_is_refused_early(target: Target) -> None:
    boundary = "hostileboundary"
    form = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    key = {"Authorization": f"Bearer {target.key}", **form}
    for path, headers in (("/login", form), ("/v1/match", key)):
        before = target.memory.reset()
        answer = post(target.port, path, headers, multipart_part(boundary, 1024 * MIB))
        grew = _grew(target, before)
        assert answer.sent < 64 * MIB, (path, answer.sent)  # not spooled to disk either
        assert grew < 32, f"{path}: the server grew by {grew:.0f} MiB"
        assert answer.status == 413, (path, answer.status, answer.body[:300])
        assert answer.headers.get("connection") == "close"


def test_chunked_json_cannot_pass_the_api_limit(target: Target) -> None:
    headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json"}

    def body() -> Iterator[bytes]:
        yield b'{"signals": {"md5": "' + b"0" * 32 + b'"}, "content_id": "'
        for _ in range(256):
            yield b"x" * MIB
        yield b'"}'

    before = target.memory.reset()
    answer = post(target.port, "/v1/match", headers, body())
    grew = _grew(target, before)
    assert grew < 32, f"the server grew by {grew:.0f} MiB"
    assert answer.sent < 64 * MIB, answer.sent
    assert answer.status == 413
    problem = json.loads(answer.body)
    assert problem["code"] == "body_too_large" and "OHSC_JSON_MAX_BYTES" in problem["detail"]


def _upload(target: Target, path: str, picture: bytes) -> Answer:
    boundary = "pictureboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + picture
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Authorization": f"Bearer {target.key}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(body)),
    }
    return post(target.port, path, headers, iter([body]), chunked=False)


def test_a_small_png_of_100_million_pixels_is_refused_before_decoding(target: Target) -> None:
    """291 KB on the wire, 10,000 x 9,999 pixels: 2.6 GB per request before the fix."""
    picture = flat_png(10_000, 9_999)
    assert len(picture) < 400_000
    before = target.memory.reset()
    answers: list[Answer] = []
    threads = [threading.Thread(target=lambda: answers.append(_upload(target, "/v1/match", picture)))
               for _ in range(2)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    grew = _grew(target, before)
    assert grew < 32, f"the server grew by {grew:.0f} MiB"
    assert [a.status for a in answers] == [413, 413], [a.body[:300] for a in answers]
    problem = json.loads(answers[0].body)
    assert problem["code"] == "image_too_large" and "OHSC_UPLOAD_MAX_IMAGE_PIXELS" in problem["detail"]


def test_concurrent_large_pictures_share_one_memory_budget(target: Target) -> None:
    """Four 16-megapixel PNGs at once (~120 MiB each to decode): each fits the per-image limit
    (160 MiB), two do not fit the process budget (200 MiB), so they are decoded in turn."""
    pictures = [flat_png(4_000, 4_000, shade=40 * i) for i in range(4)]
    assert _upload(target, "/v1/match", flat_png(600, 400)).status == 200  # hashing code loaded
    before = target.memory.reset()
    answers: list[Answer] = []
    threads = [threading.Thread(target=lambda p=p: answers.append(_upload(target, "/v1/match", p)))
               for p in pictures]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    grew = _grew(target, before)
    assert grew < 200 + 48, f"the server grew by {grew:.0f} MiB"
    assert sorted(a.status for a in answers) == [200] * 4, [a.body[:300] for a in answers]
    assert all(json.loads(a.body)["signals"].get("pdq") for a in answers)


def test_a_picture_over_the_per_image_budget_gets_a_clear_413(target: Target) -> None:
    """Bank uploads hash in exact mode (Meta's reference at full size): ~30 bytes a pixel."""
    answer = post(
        target.port,
        "/v1/banks",
        {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json", "Content-Length": "17"},
        iter([b'{"name": "known"}']),
        chunked=False,
    )
    assert answer.status == 201, answer.body
    before = target.memory.reset()
    answer = _upload(target, "/v1/banks/known/entries", flat_png(4_000, 4_000))
    grew = _grew(target, before)
    assert answer.status == 413, answer.body[:300]
    problem = json.loads(answer.body)
    assert problem["code"] == "image_too_large" and "OHSC_IMAGE_DECODE_MAX_MB" in problem["detail"]
    assert grew < 32, f"the server grew by {grew:.0f} MiB"
