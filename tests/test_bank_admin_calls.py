"""The library calls behind the bank administration pages (and ``ohsc bank``): entry search by
id, hash or external id, paged; restore with a reason; import runs that report their progress
and can be started then filled (a background import); settings saves that change nothing leave
no event."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ohsc.banks import BankService
from ohsc.banks.formats import format_for
from ohsc.cli import main
from ohsc.errors import InvalidInputError, NotFoundError
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent

MD5S = [f"{i:032x}" for i in range(1, 13)]
SHA1 = "0123456789abcdef0123456789abcdef01234567"


def _csv(rows: list[str]) -> bytes:
    return ("signal_type,value,category,external_id,note\n" + "".join(r + "\n" for r in rows)).encode()


def _events(store: Store, action: str) -> list[dict[str, object]]:
    with store.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        return [dict(e.details or {}) for e in rows]


def test_page_entries_searches_by_id_hash_and_external_id(banks: BankService) -> None:
    banks.create_bank("known")
    rows = [f"md5,{v},c,ext-{i},," for i, v in enumerate(MD5S)] + [f"sha1,{SHA1},c,ext-0,"]
    banks.import_stream("known", io.BytesIO(_csv(rows)), fmt="csv", source_name="list.csv")
    first = banks.page_entries("known", limit=5)
    assert [e.value for e in first] == MD5S[:5]
    rest = banks.page_entries("known", after=first[-1].id, limit=50)
    assert len(rest) == len(MD5S) - 5 + 1
    assert [e.value for e in banks.page_entries("known", query=MD5S[3].upper())] == [MD5S[3]]
    assert [e.value for e in banks.page_entries("known", query=f"md5:{MD5S[4]}")] == [MD5S[4]]
    assert {e.value for e in banks.page_entries("known", query="ext-0")} == {MD5S[0], SHA1}
    assert [e.value for e in banks.page_entries("known", query=f"#{first[1].id}")] == [MD5S[1]]
    assert banks.page_entries("known", query="nothing-like-this") == []
    banks.retract("known", "ext-2", "listed in error")
    assert banks.page_entries("known", query="ext-2") == []
    [entry] = banks.page_entries("known", query="ext-2", include_retracted=True)
    assert entry.retracted


def test_restore_records_its_reason(banks: BankService) -> None:
    banks.create_bank("known")
    banks.import_stream(
        "known", io.BytesIO(_csv([f"md5,{MD5S[0]},c,ext-1,"])), fmt="csv", source_name="l.csv"
    )
    banks.retract("known", "ext-1", "listed in error")
    [entry] = banks.restore("known", "ext-1", "  checked again  ")
    assert not entry.retracted
    banks.retract("known", "ext-1", "again")
    banks.restore("known", "ext-1")
    assert [e["reason"] for e in _events(banks.store, "entry.restore")] == ["checked again", None]


def test_an_import_opened_then_run_reports_its_progress(banks: BankService) -> None:
    banks.create_bank("known")
    data = _csv([f"md5,{v},c,ext-{i}," for i, v in enumerate(MD5S)])
    run_id = banks.open_import("known", fmt="csv", source_name="l.csv", size=len(data))
    waiting = banks.import_run(run_id)
    assert (waiting.status, waiting.percent, waiting.bytes_read, waiting.bytes_total) == (
        "running",
        0,
        0,
        len(data),
    )
    report = banks.run_import(run_id, io.BytesIO(data))
    assert report.added == len(MD5S)
    done = banks.import_run(run_id)
    assert (done.status, done.percent, done.bytes_read, done.counts["added"]) == (
        "finished",
        100,
        len(data),
        12,
    )
    with pytest.raises(InvalidInputError, match="not waiting"):
        banks.run_import(run_id, io.BytesIO(data))
    with pytest.raises(NotFoundError):
        banks.import_run(run_id + 100)


def test_a_settings_save_that_changes_nothing_leaves_no_event(banks: BankService) -> None:
    banks.create_bank("known", description="about it")
    banks.update_bank("known", clear_threshold=True, description="about it", allowlist=False, robust=False)
    assert _events(banks.store, "bank.update") == []
    banks.update_bank("known", threshold=20, description="changed")
    assert _events(banks.store, "bank.update") == [{"threshold": 20, "description": True}]


def test_format_for_a_file_name() -> None:
    assert [format_for(n) for n in ("a.CSV", "b.jsonl", "c.json", "d.xml", "e.txt")] == [
        "csv", "jsonl", "vics", "ncmec-xml", "vpdq-txt"
    ]  # fmt: skip
    assert format_for("list.bin", "csv") == "csv"
    with pytest.raises(InvalidInputError, match="cannot tell the format"):
        format_for("list.bin")


def test_cli_restore_takes_a_reason(tmp_path: Path) -> None:
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})
    lst = tmp_path / "list.csv"
    lst.write_bytes(_csv([f"md5,{MD5S[0]},c,ext-1,"]))
    for args in (
        ["bank", "create", "known"],
        ["bank", "import", "known", str(lst)],
        ["bank", "retract", "known", "ext-1", "--reason", "listed in error"],
        ["bank", "restore", "known", "ext-1", "--reason", "checked again"],
    ):
        result = cli.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert "restored entry" in result.stdout
    store = Store.from_settings(Settings(home=tmp_path / "home"))
    try:
        assert [e["reason"] for e in _events(store, "entry.restore")] == ["checked again"]
    finally:
        store.dispose()
