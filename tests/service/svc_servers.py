"""Start real `ohsc serve` processes on loopback for multi-process and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def ohsc_server(env: dict[str, str], log: Path, *, timeout: float = 60.0) -> Iterator[Server]:
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OHSC_")}
    full_env.update(env)
    full_env["OHSC_PORT"] = str(port)
    full_env["OHSC_HOST"] = "127.0.0.1"
    with log.open("wb") as fh:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("ohsc")), "serve", "--no-access-log"],
            env=full_env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(url + "/health/ready", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server not ready in {timeout}s: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
