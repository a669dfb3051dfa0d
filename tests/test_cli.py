"""The CLI end to end: what a user types, what they see, and exit statuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ohsc.cli import main
from tests.images import encode, picture

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})


def ok(cli: CliRunner, *args: str, input: str | None = None) -> str:
    result = cli.invoke(main, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output + (result.stderr if result.stderr_bytes else "")
    return result.stdout


def test_bank_workflow(cli: CliRunner, tmp_path: Path) -> None:
    ok(cli, "bank", "create", "known", "--threshold", "20")
    ok(cli, "bank", "create", "reviewed", "--allowlist")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(encode(picture(1), "JPEG", quality=92))
    assert "4 added" in ok(cli, "bank", "add", "known", str(photo), "--category", "demo")
    lst = tmp_path / "list.csv"
    lst.write_text(f"signal_type,value,category,external_id,note\npdq,{PDQ},c,ext-9,\nmd5,xyz,c,ext-10,\n")
    result = cli.invoke(main, ["bank", "import", "known", str(lst)])
    assert result.exit_code == 0
    assert "1 added" in result.stdout and "line 3" in result.stderr
    banks = [json.loads(line) for line in ok(cli, "bank", "list", "--json").splitlines()]
    assert {b["name"]: b["active_entries"] for b in banks} == {"known": 5, "reviewed": 0}
    exported = ok(cli, "bank", "export", "known", "--format", "jsonl")
    assert len(exported.splitlines()) == 5
    out = tmp_path / "out.csv"
    ok(cli, "bank", "export", "known", "--format", "csv", "-o", str(out))
    assert out.read_text().startswith("signal_type,value")
    assert "retracted entry" in ok(cli, "bank", "retract", "known", "ext-9", "--reason", "withdrawn")
    shown = json.loads(ok(cli, "bank", "show", "known", "--json"))
    assert shown["retracted_entries"] == 1
    assert "audit log intact" in ok(cli, "audit", "verify")


def test_match_hashes_files_and_stdin(cli: CliRunner, tmp_path: Path) -> None:
    ok(cli, "bank", "create", "known")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(encode(picture(2), "JPEG", quality=92))
    ok(cli, "bank", "add", "known", str(photo))
    lines = ok(cli, "match", "--json", str(photo), "-", input=f"# comment\n{PDQ}\n")
    results = [json.loads(x) for x in lines.splitlines()]
    assert results[0]["matched"] and {m["signal_type"] for m in results[0]["matches"]} == {
        "md5",
        "sha1",
        "sha256",
        "pdq",
    }
    assert results[1]["query"] == PDQ and not results[1]["matched"]
    assert sorted(results[1]["signals"]) == ["pdq", "sha256"]
    bad = cli.invoke(main, ["match", "--json", "not-a-hash"])
    assert bad.exit_code == 2 and "neither a file nor a hash" in json.loads(bad.stdout)["error"]


def test_hash_prints_every_signal(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(encode(picture(3), "JPEG", quality=92))
    (tmp_path / "b.txt").write_text("hi")
    rows = [json.loads(x) for x in ok(cli, "hash", "--json", "--workers", "1", str(tmp_path)).splitlines()]
    by_path = {r["path"]: r for r in rows}  # paths as the user gave them
    assert set(by_path[f"{tmp_path}/a.jpg"]) >= {
        "path",
        "size",
        "md5",
        "sha1",
        "sha256",
        "pdq",
        "pdq_quality",
        "error",
    }
    assert by_path[f"{tmp_path}/b.txt"]["pdq"] is None
    both = ok(cli, "hash", "--json", str(tmp_path / "a.jpg"), str(tmp_path / "b.txt"))
    assert [json.loads(x)["path"] for x in both.splitlines()] == [
        str(tmp_path / "a.jpg"),
        str(tmp_path / "b.txt"),
    ]
    text = ok(cli, "hash", "--exact", str(tmp_path / "a.jpg"))
    assert "pdq" in text and "quality 100" in text
    variants = ok(cli, "hash", "--dihedral", str(tmp_path / "a.jpg"))
    assert all(name in variants for name in ("rotate90", "flipx", "flipminus1"))


def test_scan_exit_status_and_records(cli: CliRunner, tmp_path: Path) -> None:
    ok(cli, "bank", "create", "known")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(encode(picture(4), "JPEG", quality=92))
    ok(cli, "bank", "add", "known", str(folder / "a.jpg"))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    records = tmp_path / "r.jsonl"
    result = cli.invoke(main, ["scan", str(folder), "--json", str(records), "--quiet", "--workers", "1"])
    assert result.exit_code == 0, result.output
    rows = {json.loads(x)["path"]: json.loads(x) for x in records.read_text().splitlines()}
    assert rows["a.jpg"]["matched"] and rows["broken.jpg"]["error"]
    assert "2 files, 1 matched, 1 errors" in result.stdout
    missing = cli.invoke(main, ["scan", str(tmp_path / "nope")])
    assert missing.exit_code == 2


def test_unusable_store_is_a_clear_error(tmp_path: Path) -> None:
    cli = CliRunner(
        env={"OHSC_HOME": str(tmp_path), "OHSC_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    )
    result = cli.invoke(main, ["bank", "list"])
    assert result.exit_code == 3
    assert "cannot open the store" in result.stderr


def test_bad_settings_name_the_variable(tmp_path: Path) -> None:
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path), "OHSC_PDQ_THRESHOLD": "many"})
    result = cli.invoke(main, ["bank", "list"])
    assert result.exit_code == 3
    assert "OHSC_PDQ_THRESHOLD" in result.stderr


@pytest.mark.slow
def test_scan_survives_kill_9_and_resumes(tmp_path: Path) -> None:
    """A scan killed mid-way finishes with --resume: every file recorded exactly once."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(150):
        (folder / f"{i:03d}.jpg").write_bytes(encode(picture(i, (320, 240)), "JPEG", quality=85))
    records = tmp_path / "records.jsonl"
    env = {**os.environ, "OHSC_HOME": str(tmp_path / "home")}
    cmd = [
        sys.executable,
        "-m",
        "ohsc.cli",
        "scan",
        str(folder),
        "--json",
        str(records),
        "--quiet",
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if records.exists() and len(records.read_bytes().splitlines()) >= 30:
            break
        if proc.poll() is not None:
            pytest.fail(f"scan ended early: {proc.communicate()[1].decode()}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    done_before = len(records.read_bytes().splitlines())
    assert 30 <= done_before < 150
    subprocess.run([*cmd, "--resume"], env=env, check=True, capture_output=True, timeout=300)
    paths = [json.loads(line)["path"] for line in records.read_text().splitlines()]
    assert len(paths) == len(set(paths)) == 150
