"""Exit statuses: a command that could not do what was asked exits non-zero; matches are data.

The table in docs/cli.md is what these tests hold the commands to.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ohsc import errors
from ohsc.cli import main
from tests.images import encode, picture

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})


def run(cli: CliRunner, *args: str, input: str | None = None) -> Result:
    return cli.invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(picture(7), "JPEG", quality=92))
    return path


def test_match_exits_2_for_what_is_neither_a_hash_nor_a_file(cli: CliRunner, tmp_path: Path) -> None:
    assert run(cli, "match", "zzzz").exit_code == 2
    missing = run(cli, "match", str(tmp_path / "missing.jpg"))
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    as_json = run(cli, "match", "--json", "zzzz")
    assert as_json.exit_code == 2
    assert "neither a file nor a hash" in json.loads(as_json.stdout)["error"]
    # every query is still answered: the good one before and after the bad one
    mixed = run(cli, "match", "--json", PDQ, "zzzz", f"md5:{'0' * 32}")
    assert mixed.exit_code == 2
    assert [("error" in json.loads(x)) for x in mixed.stdout.splitlines()] == [False, True, False]


def test_matches_and_no_matches_are_data(cli: CliRunner, photo: Path) -> None:
    assert run(cli, "bank", "create", "known").exit_code == 0
    assert run(cli, "match", PDQ).exit_code == 0  # no match
    assert run(cli, "bank", "add", "known", str(photo)).exit_code == 0
    matched = run(cli, "match", "--json", str(photo))
    assert matched.exit_code == 0 and json.loads(matched.stdout)["matched"]


def test_hash_exits_1_when_a_file_cannot_be_hashed(cli: CliRunner, tmp_path: Path, photo: Path) -> None:
    assert run(cli, "hash", str(photo)).exit_code == 0
    missing = run(cli, "hash", "--json", str(photo), str(tmp_path / "missing.jpg"))
    assert missing.exit_code == 1
    rows = {Path(r["path"]).name: r for r in map(json.loads, missing.stdout.splitlines())}
    assert rows["photo.jpg"]["pdq"]  # the readable file is still hashed
    assert rows["missing.jpg"]["error"] == "no such file"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0garbage")
    result = run(cli, "hash", str(broken))
    assert result.exit_code == 1 and "md5" in result.stdout  # digests, then the error


def test_import_exits_2_when_no_row_is_valid(cli: CliRunner, tmp_path: Path) -> None:
    assert run(cli, "bank", "create", "known").exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("signal_type,value\nmd5,xyz\npdq,abc\n")
    result = run(cli, "bank", "import", "known", str(bad))
    assert result.exit_code == 2
    assert "line 2" in result.stderr and "no valid row" in result.stderr
    as_json = run(cli, "bank", "import", "--json", "known", str(bad))
    assert as_json.exit_code == 2 and json.loads(as_json.stdout)["invalid"] == 2
    partly = tmp_path / "partly.csv"
    partly.write_text(f"signal_type,value\npdq,{PDQ}\nmd5,xyz\n")
    result = run(cli, "bank", "import", "known", str(partly))
    assert result.exit_code == 0, "good rows load; bad ones are reported by line"
    assert "1 added" in result.stdout and "line 3" in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("signal_type,value\n")
    assert run(cli, "bank", "import", "known", str(empty)).exit_code == 0  # nothing asked, nothing wrong
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert run(cli, "bank", "import", "known", str(garbage)).exit_code == 2


def test_bank_add_warns_about_files_that_are_not_media(cli: CliRunner, tmp_path: Path) -> None:
    assert run(cli, "bank", "create", "known").exit_code == 0
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    result = run(cli, "bank", "add", "known", str(text))
    assert result.exit_code == 0  # its digests go in, on purpose
    assert "3 added" in result.stdout
    assert "not a picture or video" in result.stderr and "notes.txt" in result.stderr
    as_json = json.loads(run(cli, "bank", "add", "--json", "known", str(text)).stdout)
    assert any("not a picture or video" in n for n in as_json["notes"])
    assert run(cli, "bank", "add", "known", str(tmp_path / "missing.jpg")).exit_code == 2


def test_errors_map_to_their_exit_codes(cli: CliRunner, tmp_path: Path) -> None:
    assert run(cli, "bank", "show", "nope").exit_code == errors.BankNotFoundError.exit_code == 4
    assert run(cli, "bank", "create", "known").exit_code == 0
    assert run(cli, "bank", "create", "known").exit_code == errors.BankExistsError.exit_code == 5
    assert run(cli, "bank", "retract", "known", "nothing", "--reason", "x").exit_code == 4
    assert run(cli, "bank", "import", "known", str(tmp_path / "x.unknown-ext")).exit_code == 2
    assert run(cli, "apikey", "revoke", "nope").exit_code == 4
    assert run(cli, "no-such-command").exit_code == 2  # usage errors, as click gives them
    assert run(cli, "bank", "delete", "known", input="n\n").exit_code == 1  # declined: nothing done


def test_unwritable_output_is_an_error_not_a_traceback(cli: CliRunner, tmp_path: Path) -> None:
    assert run(cli, "bank", "create", "known").exit_code == 0
    result = cli.invoke(main, ["bank", "export", "known", "-o", str(tmp_path / "no" / "such" / "dir.csv")])
    assert result.exit_code == 1
    assert "error:" in result.stderr and "No such file or directory" in result.stderr
    assert not isinstance(result.exception, OSError)


def test_exit_codes_in_a_real_process(tmp_path: Path) -> None:
    """What a shell script sees (sys.exit through the installed entry point's module)."""
    env = {"OHSC_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "ohsc.cli", "match", "zzzz"], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr


def test_the_documented_table_lists_every_exit_code() -> None:
    """docs/cli.md's table names every exit code an OhscError can give."""
    doc = (REPO / "docs" / "cli.md").read_text()
    codes: set[int] = set()
    stack: list[type[errors.OhscError]] = [errors.OhscError]
    while stack:
        cls = stack.pop()
        codes.add(cls.exit_code)
        stack.extend(cls.__subclasses__())
    for code in sorted(codes | {0, 130}):
        assert f"\n| {code} |" in doc, f"exit code {code} is not in docs/cli.md"


def test_exchange_commands_exit_statuses(cli: CliRunner) -> None:
    assert run(cli, "exchange", "sync", "nope").exit_code == 4  # no such exchange
    assert run(cli, "exchange", "sync").exit_code == 2  # neither a name nor --all
    assert run(cli, "bank", "create", "in").exit_code == 0
    feed = ["--kind", "ohsc-feed", "--bank", "x", "--into", "in", "--url", "http://127.0.0.1:9"]
    key = run(cli, "feed", "key").stdout.strip()
    assert (
        run(cli, "exchange", "add", "a", *feed, "--public-key", "nonsense", "--api-key", "k").exit_code == 2
    )
    assert run(cli, "exchange", "add", "a", *feed, "--public-key", key, "--api-key", "k").exit_code == 0
    assert run(cli, "exchange", "add", "a", *feed, "--public-key", key, "--api-key", "k").exit_code == 5
    unreachable = run(cli, "exchange", "sync", "a")  # loopback is internal: the egress guard refuses it
    assert unreachable.exit_code == 8 and "OHSC_EGRESS_ALLOW" in unreachable.stderr, unreachable.stderr
    assert run(cli, "exchange", "add", "b", "--kind", "no-such-kind", "--into", "in").exit_code == 2
    assert run(cli, "feed", "feedback", "no-such-bank").exit_code == 4
    assert run(cli, "feed", "feedback", "in", "--json").stdout == ""  # no partner said anything yet
    assert run(cli, "feed", "publish", "in", "--to", "nobody").exit_code == 4
