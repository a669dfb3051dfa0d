"""The README runs as written: every ``sh`` block, section by section, each section in a fresh
folder with an empty OHSC_HOME, its commands exactly as the README prints them.

* The blocks of a section run in one ``bash`` (``set -e``), so ``ohsc serve &`` and the later
  ``kill %1`` are one shell's job, as for a reader typing them.
* The README's browser step (log in, take the next item, confirm it) is done over HTTP between the
  blocks around it (``walkthrough_review.py``); the password the README asks for comes on stdin.
* The folder holds what a clone has (``examples/``, and ``.venv`` pointing at this interpreter's
  environment); ``HOME`` is the folder, so ``~/.ohsc`` is a fresh, private OHSC_HOME.
* The server listens on 127.0.0.1:8080 as written: in a private network namespace
  (``unshare -rn``) where possible, so parallel test runs cannot collide; else only when 8080 is
  free here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
REVIEW_STEP = Path(__file__).with_name("walkthrough_review.py")
PASSWORD = "walkthrough password 1"

#: Blocks the test does not run (by their commands), and why.
NOT_RUN = {
    "python3 -m venv .venv && .venv/bin/pip install -e '.[all]' && .venv/bin/ohsc demo": (
        "installs the package: the test runs in the installed one"
    ),
    "bash .ci/run": "runs this very suite",
}


@dataclass
class Section:
    title: str
    blocks: list[str] = field(default_factory=list)


def readme_sections() -> list[Section]:
    """The README's ``## `` sections with their ``sh`` blocks."""
    sections = [Section("(top)")]
    in_block = False
    lines: list[str] = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if in_block:
            if line.strip() == "```":
                sections[-1].blocks.append("\n".join(lines))
                in_block = False
            else:
                lines.append(line)
        elif line.startswith("## "):
            sections.append(Section(line[3:].strip()))
        elif line.strip() in ("```sh", "```bash", "```shell"):
            in_block, lines = True, []
    return [s for s in sections if s.blocks]


def commands(block: str) -> list[str]:
    """The block's commands: comments and blank lines dropped, continuation lines joined."""
    out: list[str] = []
    pending = ""
    for raw in block.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        out.append(re.sub(r"\s+#\s.*$", "", full).strip())
    return out


def runnable(section: Section) -> list[str]:
    blocks = []
    for block in section.blocks:
        cmds = commands(block)
        skipped = [c for c in cmds if c in NOT_RUN]
        assert not skipped or skipped == cmds, f"a block mixes commands the test runs and skips: {cmds}"
        if not skipped:
            blocks.append(block)
    return blocks


@cache
def _private_network() -> list[str] | None:
    """A command prefix that runs in a new network namespace with loopback up, if possible."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    prefix = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "netns"]
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if ok else None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run_section(section: Section, tmp_path: Path) -> tuple[int, str, Path]:
    """Run a section's blocks in one bash, in a folder laid out like a clone. (status, log, folder)"""
    folder = tmp_path / "clone"
    folder.mkdir()
    shutil.copytree(REPO / "examples", folder / "examples")
    (folder / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    parts = ["set -eo pipefail", "set -x"]
    for block in runnable(section):
        parts.append(block)
        if "ohsc serve &" in block:  # the README's browser step, then the next block
            parts.append(
                '"$WALKTHROUGH_PYTHON" "$WALKTHROUGH_REVIEW" http://127.0.0.1:8080 "$WALKTHROUGH_PASSWORD"'
            )
    script = folder / "walkthrough.sh"
    script.write_text("\n".join(parts) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OHSC_", "VIRTUAL_ENV"))}
    env.update(
        HOME=str(folder),
        WALKTHROUGH_PYTHON=sys.executable,
        WALKTHROUGH_REVIEW=str(REVIEW_STEP),
        WALKTHROUGH_PASSWORD=PASSWORD,
    )
    prefix: list[str] = []
    if any("ohsc serve" in b for b in section.blocks):
        if shutil.which("curl") is None:
            pytest.skip("the README's service section uses curl")
        prefix = _private_network() or []
        if not prefix and not _port_free(8080):
            pytest.skip("127.0.0.1:8080 is taken and no private network namespace (unshare -rn) is possible")
    proc = subprocess.Popen(
        [*prefix, "bash", str(script)],
        cwd=folder,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        log, _ = proc.communicate(f"{PASSWORD}\n", timeout=900)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever the section left running (its own group)
        proc.wait()
    return proc.returncode, log, folder


def _section(title: str) -> Section:
    found = [s for s in readme_sections() if s.title.startswith(title)]
    assert len(found) == 1, f"README has no section {title!r}"
    return found[0]


def test_every_readme_block_is_run_or_named() -> None:
    """Every ``sh`` block is run by one of the tests below, or skipped on purpose (NOT_RUN)."""
    tested = {"Using it", "The service", "Prevention"}
    skipped: set[str] = set()
    for section in readme_sections():
        blocks = runnable(section)
        if blocks:
            assert any(section.title.startswith(t) for t in tested), (
                f"untested README section {section.title}"
            )
        skipped |= {c for b in section.blocks for c in commands(b) if c in NOT_RUN}
    assert skipped == set(NOT_RUN), "NOT_RUN names a command the README no longer has"


@pytest.mark.slow
@pytest.mark.timeout(900)  # a demo run and a scan, on a busy 2-core machine
def test_readme_using_it(tmp_path: Path) -> None:
    status, log, folder = run_section(_section("Using it"), tmp_path)
    assert status == 0, log[-6000:]
    records = {r["path"]: r for r in map(json.loads, (folder / "results.jsonl").read_text().splitlines())}
    assert records["uploads/00-resized-half.jpg"]["matched"]
    assert (
        records["uploads/allowlisted.jpg"]["suppressed"] and not records["uploads/allowlisted.jpg"]["matched"]
    )
    assert not records["uploads/decoy-00.jpg"]["matched"]
    assert "already done (resumed)" in log
    assert (folder / "known.json").stat().st_size > 0
    assert "retracted entry" in log and "audit log intact" in log


@pytest.mark.slow
@pytest.mark.timeout(900)  # a demo run and a scan, on a busy 2-core machine
def test_readme_service(tmp_path: Path) -> None:
    status, log, _folder = run_section(_section("The service"), tmp_path)
    assert status == 0, log[-6000:]
    assert re.search(r'"verdict":\s*"review"', log), log[-6000:]
    assert re.search(r'"content_id":\s*"upload-2".*"matched":\s*true', log) or '"matched":true' in log
    assert "confirmed in the browser step" in log
    assert "audit log intact" in log


@pytest.mark.slow
@pytest.mark.timeout(900)  # a demo run and a scan, on a busy 2-core machine
def test_readme_prevention(tmp_path: Path) -> None:
    status, log, _folder = run_section(_section("Prevention"), tmp_path)
    assert status == 0, log[-6000:]
    assert re.search(r'"triggered":\s*true', log) and '"locale": "de"' in log
    assert "object 1 is now published (sole operator" in log
