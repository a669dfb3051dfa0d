"""Banks on SQLite and PostgreSQL: create, fill, import with bad rows, retract, export, audit."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from ohsc import audit
from ohsc.banks import BankService, EntryInput
from ohsc.errors import (
    AmbiguousReferenceError,
    BankExistsError,
    BankNotFoundError,
    EntryNotFoundError,
    InvalidInputError,
)
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent
from tests.images import encode, picture

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "0123456789abcdef0123456789abcdef"

CSV = (
    "signal_type,value,category,external_id,note\n"
    f"md5,{MD5.upper()},cat-a,ext-1,\n"
    "md5,nothex,cat-a,ext-2,\n"
    "sha1,0123456789abcdef0123456789abcdef01234567,cat-b,ext-3,a note\n"
    f"pdq,{PDQ},cat-c,ext-4,\n"
    "photodna,abc,,,\n"
    "\n"
    "md5,,cat-a,ext-5,\n"
)


def _import(banks: BankService, bank: str, text: str, fmt: str = "csv") -> object:
    return banks.import_stream(bank, io.BytesIO(text.encode()), fmt=fmt, source_name="list.csv")


def test_create_list_update_delete(banks: BankService) -> None:
    b = banks.create_bank("known", threshold=20)
    assert (b.name, b.threshold, b.threshold_is_default, b.is_allowlist) == ("known", 20, False, False)
    allow = banks.create_bank("reviewed", allowlist=True)
    assert allow.threshold == 31 and allow.threshold_is_default and allow.is_allowlist
    with pytest.raises(BankExistsError):
        banks.create_bank("known")
    with pytest.raises(InvalidInputError, match="threshold"):
        banks.create_bank("too-far", threshold=200)
    assert [x.name for x in banks.list_banks()] == ["known", "reviewed"]
    updated = banks.update_bank("known", name="renamed", clear_threshold=True, enabled=False)
    assert (updated.name, updated.threshold_is_default, updated.enabled) == ("renamed", True, False)
    banks.delete_bank("renamed")
    with pytest.raises(BankNotFoundError):
        banks.get_bank("renamed")


def test_import_reports_bad_rows_with_line_numbers_and_loads_the_rest(banks: BankService) -> None:
    banks.create_bank("known")
    report = _import(banks, "known", CSV)
    assert report.counts()["added"] == 3  # type: ignore[attr-defined]
    errors = {e.line: e.message for e in report.errors}  # type: ignore[attr-defined]
    assert errors.keys() == {3, 6, 8}
    assert "expected 32 hex characters" in errors[3]
    assert "unknown signal type 'photodna'" in errors[6]
    assert "missing value" in errors[8]
    entries = {e.value: e for e in banks.iter_entries("known")}
    assert entries[MD5].category == "cat-a" and entries[MD5].external_id == "ext-1"
    assert entries[PDQ].signal_type == "pdq"


def test_reimporting_the_same_file_changes_nothing(banks: BankService) -> None:
    banks.create_bank("known")
    _import(banks, "known", CSV)
    before = [e.model_dump(mode="json") for e in banks.iter_entries("known")]
    again = _import(banks, "known", CSV)
    assert again.counts() == {  # type: ignore[attr-defined]
        "added": 0,
        "updated": 0,
        "unchanged": 3,
        "retracted": 0,
        "kept_retracted": 0,
        "unknown_withdrawals": 0,
        "invalid": 3,
    }
    assert [e.model_dump(mode="json") for e in banks.iter_entries("known")] == before


def test_changed_metadata_updates_without_duplicates(banks: BankService) -> None:
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("md5", MD5, category="old")])
    report = banks.add_entries("known", [EntryInput("md5", MD5, category="new", labels=["x"])])
    assert (report.added, report.updated) == (0, 1)
    (entry,) = banks.iter_entries("known")
    assert entry.category == "new" and entry.labels == ("x",)


def test_retract_restore_by_id_external_id_and_hash(banks: BankService) -> None:
    banks.create_bank("known")
    banks.add_entries(
        "known",
        [
            EntryInput("md5", MD5, external_id="file-1"),
            EntryInput("pdq", PDQ, external_id="file-1"),
            EntryInput("sha1", "0" * 40, external_id="file-2"),
        ],
    )
    retracted = banks.retract("known", "file-1", "withdrawn by source")
    assert {e.signal_type for e in retracted} == {"md5", "pdq"}
    assert all(e.retracted and e.retraction_reason == "withdrawn by source" for e in retracted)
    assert {e.signal_type for e in banks.iter_entries("known")} == {"sha1"}
    assert banks.get_bank("known").retracted_entries == 2
    restored = banks.restore("known", f"md5:{MD5}")
    assert len(restored) == 1 and not restored[0].retracted
    entry_id = next(iter(banks.iter_entries("known"))).id
    assert banks.retract("known", str(entry_id), "mistake")[0].id == entry_id
    with pytest.raises(EntryNotFoundError):
        banks.retract("known", "nope", "x")
    with pytest.raises(InvalidInputError, match="reason"):
        banks.retract("known", "file-2", "  ")


def test_a_value_of_two_signal_types_is_ambiguous(banks: BankService) -> None:
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("pdq", PDQ), EntryInput("sha256", PDQ)])
    with pytest.raises(AmbiguousReferenceError, match="TYPE:VALUE"):
        banks.retract("known", PDQ, "x")
    assert len(banks.retract("known", f"sha256:{PDQ}", "x")) == 1


def test_reimport_keeps_retractions_and_withdrawals_retract(banks: BankService) -> None:
    banks.create_bank("known")
    _import(banks, "known", CSV)
    banks.retract("known", "ext-1", "false positive")
    report = _import(banks, "known", CSV)
    assert report.kept_retracted == 1  # type: ignore[attr-defined]
    lines = [
        {"signal_type": "pdq", "value": PDQ, "retracted": True, "retraction_reason": "withdrawn"},
        {"signal_type": "md5", "value": "1" * 32, "retract": True},
    ]
    report = _import(banks, "known", "".join(json.dumps(x) + "\n" for x in lines), "jsonl")
    assert (report.retracted, report.unknown_withdrawals) == (1, 1)  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_and_import_round_trip(banks: BankService, fmt: str) -> None:
    banks.create_bank("a")
    _import(banks, "a", CSV)
    banks.add_entries("a", [EntryInput("md5", "2" * 32, labels=["l1", "l2"], note="n", quality=None)])
    buf = io.BytesIO()
    assert banks.export("a", buf, fmt) == 4
    banks.create_bank("b")
    report = banks.import_stream("b", io.BytesIO(buf.getvalue()), fmt=fmt, source_name=f"a.{fmt}")
    assert report.added == 4 and not report.errors

    def key(e: object) -> tuple[object, ...]:
        return (e.signal_type, e.value, e.category, e.external_id, e.note, e.labels)  # type: ignore[attr-defined]

    assert sorted(map(key, banks.iter_entries("a"))) == sorted(map(key, banks.iter_entries("b")))


def test_add_files_hashes_every_signal(banks: BankService, tmp_path: Path) -> None:
    banks.create_bank("known")
    good = tmp_path / "a.jpg"
    good.write_bytes(encode(picture(1), "JPEG", quality=90))
    flat = tmp_path / "flat.png"
    from PIL import Image

    flat.write_bytes(encode(Image.new("RGB", (200, 200), "grey"), "PNG"))
    report, failed = banks.add_files("known", [good, flat, tmp_path / "missing.jpg"], category="demo")
    assert report.added == 4 + 3  # flat picture: digests only (PDQ quality 0)
    assert [p.name for p, _ in failed] == ["missing.jpg"]
    assert any("quality 0 below 50" in n for n in report.notes)


def test_every_change_is_an_audit_event(banks: BankService, store: Store) -> None:
    banks.create_bank("known")
    _import(banks, "known", CSV)
    banks.retract("known", "ext-1", "r")
    banks.export("known", io.BytesIO(), "csv")
    banks.delete_bank("known")
    with store.session() as s:
        result = audit.verify(s)
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert result.ok
    assert actions == ["bank.create", "bank.entries.add", "entry.retract", "bank.export", "bank.delete"]
