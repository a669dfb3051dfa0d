"""``kill -9`` of a real ``ohsc scan`` takes its hashing workers with it (they used to run on,
blocked on a queue nobody would ever feed again)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ohsc.demo.synth import jpeg_bytes, picture
from ohsc.scanning.worker import parent_death_signal_supported

OHSC = str(Path(sys.executable).with_name("ohsc"))


def _children(pid: int) -> set[int]:
    """Live child processes of ``pid`` (from /proc; zombies count as gone)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(check: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
def test_workers_exit_when_the_scan_is_killed(tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    data = jpeg_bytes(picture(3, (640, 480)))
    for i in range(800):  # benign, generated; each copy differs in its last bytes
        (folder / f"p{i:04d}.jpg").write_bytes(data + i.to_bytes(4, "big"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OHSC_")},
        "OHSC_HOME": str(tmp_path / "h"),
    }
    scan = subprocess.Popen(
        [
            OHSC,
            "scan",
            str(folder),
            "--workers",
            "2",
            "--json",
            str(tmp_path / "records.jsonl"),
            "--quiet",
            "--exact",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    try:
        # the hashing workers (and multiprocessing's resource tracker) are the scan's children
        def _grown() -> bool:
            workers.update(_children(scan.pid))
            return len(workers) >= 2

        assert _wait_for(_grown, 120), workers
        assert scan.poll() is None, "the scan finished before it could be killed: give it more files"
        os.kill(scan.pid, signal.SIGKILL)
        scan.wait(30)
        gone = _wait_for(lambda: not any(_alive(p) for p in workers), 15)
        assert gone, f"still running after the scan was killed: {[p for p in workers if _alive(p)]}"
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if scan.poll() is None:
            scan.kill()
            scan.wait(30)


def test_the_parent_death_signal_is_available_on_linux() -> None:
    assert parent_death_signal_supported() == sys.platform.startswith("linux")


CHILD = """
import os, sys, time
from ohsc.scanning import worker
worker._set_parent_death_signal = lambda: False  # the portable watchdog alone
worker.exit_with_parent(os.getppid())
print("ready", flush=True)
time.sleep(600)
"""

PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "ready"
print(child.pid, flush=True)
child.wait()
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_watchdog_alone_ends_a_worker_whose_parent_died() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)
        assert _wait_for(lambda: not _alive(child), 15), "the worker outlived its parent"
    finally:
        parent.stdout.close()
        if _alive(child):
            os.kill(child, signal.SIGKILL)
