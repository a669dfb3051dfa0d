"""``ohsc serve --workers 2``: each worker listens itself, so connections reach both (issue 10, item 10).

uvicorn's workers shared one socket bound by the parent, and with 32 keep-alive clients all 32
were accepted by one worker (``ss`` showed 32 and 0): the second process only added contention.
Each connection here asks ``/health/ready`` whether its process leads; both answers appear only
when connections reach both processes (and only one of them leads).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from svc_servers import ohsc_server

from ohsc.web.workers import listening_socket

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _eventually_gone(pids: list[int], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return False


def test_two_sockets_listen_on_one_port() -> None:
    first = listening_socket("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        second = listening_socket("127.0.0.1", port)
        second.close()
    finally:
        first.close()


def test_connections_reach_both_workers_and_one_leads(tmp_path: Path) -> None:
    env = {"OHSC_HOME": str(tmp_path / "home"), "OHSC_SERVER_WORKERS": "2"}
    with ohsc_server(env, tmp_path / "server.log", timeout=240) as server:
        leads: list[bool] = []
        deadline = time.monotonic() + 240
        while not (True in leads and False in leads) and time.monotonic() < deadline:
            clients = [httpx.Client(base_url=server.url, timeout=30) for _ in range(16)]
            try:
                leads += [bool(c.get("/health/ready").json()["leader"]) for c in clients]
            finally:
                for c in clients:
                    c.close()
            if not (True in leads and False in leads):
                time.sleep(1)  # a worker may still be loading its indexes
        assert True in leads and False in leads, f"answers from one process only: {leads}"
        workers = _children(server.process.pid)
        assert len([p for p in workers if _alive(p)]) >= 2
        # kill -9 of the parent: its workers do not outlive it
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(30)
        assert _eventually_gone(workers), "server workers outlived their parent"


def test_a_taken_port_is_refused_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        from click.testing import CliRunner

        from ohsc.cli import main

        result = CliRunner().invoke(
            main, ["serve", "--workers", "2", "--port", str(port)], env={"OHSC_HOME": str(tmp_path / "h")}
        )
        assert result.exit_code != 0
        assert f"cannot listen on 127.0.0.1:{port}" in result.output
