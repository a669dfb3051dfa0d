"""A test site for the removal crawler: benign generated pictures served by a second process
(``python -m http.server``) on loopback. Nothing here reaches the internet."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.images import encode, picture
from tests.site_server import site_command

#: pictures the bank knows (seeds of tests.images.picture) and pictures it does not
KNOWN = (101, 102, 103)
UNKNOWN = (201, 202)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    root: Path
    url: str
    process: subprocess.Popen[bytes]

    def known_files(self) -> list[Path]:
        return [self.root / "media" / f"k{seed}.jpg" for seed in KNOWN]

    def unknown_files(self) -> list[Path]:
        return [self.root / "media" / f"u{seed}.jpg" for seed in UNKNOWN]


def build_site(root: Path) -> None:
    """Pages linking known and unknown pictures in every way a page can, and a broken link."""
    media = root / "media"
    media.mkdir(parents=True)
    for seed in KNOWN:
        (media / f"k{seed}.jpg").write_bytes(encode(picture(seed, (320, 240)), "JPEG", quality=90))
    for seed in UNKNOWN:
        (media / f"u{seed}.jpg").write_bytes(encode(picture(seed, (320, 240)), "JPEG", quality=90))
    (root / "index.html").write_text(
        "<!doctype html><html><head><title>t</title>"
        "<style>.hero { background-image: url('media/k103.jpg'); }</style></head><body>"
        '<img src="media/k101.jpg" alt="">'
        '<picture><source srcset="media/u201.jpg 1x, media/u201.jpg 2x"><img src="media/u201.jpg"></picture>'
        '<a href="page2.html">next</a> <a href="missing.html">broken</a>'
        '<a href="https://elsewhere.invalid/page.html">off-site</a>'
        '<div class="hero"></div></body></html>'
    )
    (root / "page2.html").write_text(
        "<!doctype html><html><body>"
        '<video poster="media/u202.jpg"><source src="media/none.mp4" type="video/mp4"></video>'
        '<a href="media/k102.jpg">a picture</a>'
        '<div style="background: url(&quot;media/k101.jpg&quot;)"></div>'
        "</body></html>"
    )


@contextmanager
def serve_site(root: Path, *, keep_alive: bool = False) -> Iterator[Site]:
    """Serve ``root`` from a second process on a free loopback port: HTTP/1.0, a connection per
    request (``python -m http.server``), or HTTP/1.1 keeping connections open (``keep_alive``)."""
    port = free_port()
    command = site_command(port, root, keep_alive=keep_alive)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise AssertionError("test site did not start") from None
                time.sleep(0.05)
        yield Site(root, url, process)
    finally:
        process.terminate()
        process.wait(10)
