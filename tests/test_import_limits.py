"""Hostile VICS files (issue 10, item 4) and what an interrupted import leaves (item 6): nesting
depth and string size are bounded by settings, the reader's memory stays flat, the import stops
with a clear error, the run is closed as failed and every committed batch has its audit event."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ohsc.banks.formats.jsonstream import Guard, JsonLimits
from ohsc.banks.service import BATCH, BankService
from ohsc.errors import ImportLimitError
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent
from tests.format_samples import fake_md5, vics

#: Reads a generated hostile document in a fresh process under a 1 GiB address-space cap (the
#: unbounded reader needed 1.1 GB for 40 KB of brackets) and prints the traced peak.
_MEASURE = r"""
import io, json, resource, sys, tracemalloc
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from ohsc.banks.formats import get_format
from ohsc.errors import OhscError
kind, size = sys.argv[1], int(sys.argv[2])
if kind == "nested":
    data = b'{"value": [' + b"[" * size + b"]" * size + b"]}"
else:
    data = b'{"value": [{"MediaID": 1, "MD5": "' + b"a" * size + b'"}]}'
tracemalloc.start()
try:
    list(get_format("vics").read(io.BytesIO(data)))
    error = None
except OhscError as exc:
    error = exc.code
except MemoryError:
    error = "memory"
peak = tracemalloc.get_traced_memory()[1] - len(data)
print(json.dumps({"error": error, "peak": peak}))
"""


def _read_hostile(kind: str, size: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, kind, str(size)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("kind", "size"), [("nested", 40_000), ("nested", 400_000), ("string", 64 << 20)])
def test_hostile_documents_stop_in_bounded_memory(kind: str, size: int) -> None:
    result = _read_hostile(kind, size)
    assert result["error"] == "import_limit", result
    assert isinstance(result["peak"], int) and result["peak"] < 16 << 20, result


def _nested(depth: int) -> bytes:
    return b'{"value": [' + b"[" * depth + b"]" * depth + b"]}"


def test_the_limits_are_settings(tmp_path: Path, store: Store) -> None:
    deep = 20
    doc = json.dumps(vics(_records(1)))[:-2].encode() + b', {"X": ' + b"[" * deep + b"]" * deep + b"}]}"
    strict = BankService(store, Settings(home=tmp_path / "a", import_max_depth=8), actor="test")
    strict.create_bank("known")
    with pytest.raises(ImportLimitError, match="OHSC_IMPORT_MAX_DEPTH"):
        strict.import_stream("known", io.BytesIO(doc), fmt="vics", source_name="deep.json")
    lenient = BankService(store, Settings(home=tmp_path / "b", import_max_depth=64), actor="test")
    report = lenient.import_stream("known", io.BytesIO(doc), fmt="vics", source_name="deep.json")
    assert report.added == 2  # the MD5 and SHA1 of the first record; the odd one is a row error


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 64])
def test_the_guard_follows_strings_across_pieces(piece: int) -> None:
    """Brackets and escaped quotes inside strings do not count, wherever the pieces break."""
    text = json.dumps({"value": [{"a": 'x"[[[{{\\', "b": ["]]]", "\\\\"], "c": "\u00e9" * 5}]}).encode()
    guard = _fed(text, piece, max_depth=4)  # the object, "value", a record, "b"
    assert (guard.depth, guard.open_string) == (0, None)
    with pytest.raises(ImportLimitError, match="OHSC_IMPORT_MAX_DEPTH"):
        _fed(text, piece, max_depth=3)
    with pytest.raises(ImportLimitError, match="OHSC_IMPORT_MAX_STRING_BYTES"):
        _fed(b'["' + b'a\\"' * 40 + b'"]', piece, max_depth=4)


def _fed(text: bytes, piece: int, max_depth: int) -> Guard:
    guard = Guard(JsonLimits(max_depth=max_depth, max_string_bytes=64))
    for start in range(0, len(text), piece):
        guard.feed(text[start : start + piece], 1)
    return guard


def _records(n: int, start: int = 1) -> list[dict[str, object]]:
    """Media records of invented hashes (benign placeholders)."""
    return [
        {"MediaID": i, "Category": 1, "MD5": fake_md5(i), "SHA1": hashlib.sha1(b"%d" % i).hexdigest()}
        for i in range(start, start + n)
    ]


def test_an_import_stopped_midway_closes_its_run_and_audits_each_committed_batch(
    store: Store, settings: Settings
) -> None:
    banks = BankService(store, settings, actor="test")
    banks.create_bank("known")
    good = json.dumps(vics(_records(BATCH)), indent=1)  # MD5 + SHA1 each: two batches of entries
    doc = good.rstrip().rstrip("}").rstrip().rstrip("]").encode() + b", " + b"[" * 200 + b"]" * 200 + b"]}"
    with pytest.raises(ImportLimitError):
        banks.import_stream("known", io.BytesIO(doc), fmt="vics", source_name="cut.json")
    (run,) = banks.import_runs("known")
    assert run.status == "failed"
    assert run.finished_at is not None
    assert run.counts["added"] == 2 * BATCH == banks.get_bank("known").active_entries
    assert run.counts["failed"] is True
    with store.session() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    batches = [e.details for e in events if e.action == "bank.entries.add"]
    assert [(d["batch"], d["added"], d["import_run"]) for d in batches] == [
        (1, BATCH, run.id),
        (2, BATCH, run.id),
    ]
    assert events[-1].action == "bank.import.fail"

    ok = banks.import_stream("known", io.BytesIO(good.encode()), fmt="vics", source_name="good.json")
    assert ok.unchanged == 2 * BATCH
    assert [r.status for r in banks.import_runs("known")] == ["finished", "failed"]


def test_cli_import_of_a_hostile_file_fails_and_lists_the_run(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main_cli(), ["bank", "create", "known"]).exit_code == 0
    path = tmp_path / "deep.json"
    path.write_bytes(_nested(40_000))
    result = runner.invoke(main_cli(), ["bank", "import", "known", str(path)])
    assert result.exit_code == 2, result.output
    assert "OHSC_IMPORT_MAX_DEPTH" in result.output
    listed = runner.invoke(main_cli(), ["bank", "imports", "--json"])
    assert listed.exit_code == 0, listed.output
    (run,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (run["bank"], run["source_name"], run["status"]) == ("known", "deep.json", "failed")


def main_cli() -> click.Command:
    from ohsc.cli import main

    return main
