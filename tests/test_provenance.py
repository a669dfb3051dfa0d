"""Provenance per source record: two sources listing one hash, withdrawals of one of them,
the match answer naming every source (issue 10, item 1)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from ohsc.banks.model import EntryInput, ImportReport
from ohsc.banks.service import BankService
from ohsc.demo.synth import jpeg_bytes, picture
from ohsc.errors import InvalidInputError
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.format_samples import fake_md5, keyed, ncmec, ncmec_deleted, ncmec_image, pic, vics


@pytest.fixture
def banks(store: Store, settings: Settings) -> BankService:
    service = BankService(store, settings, actor="test")
    service.create_bank("known")
    return service


def _import(
    banks: BankService, data: bytes, fmt: str = "ncmec-xml", name: str = "entries.xml"
) -> ImportReport:
    return banks.import_stream("known", io.BytesIO(data), fmt=fmt, source_name=name)


def test_issue_reproduction_one_members_deletion_keeps_the_hash_matching(banks: BankService) -> None:
    """Member 42's entry-a and member 43's entry-b list one MD5; member 43 deletes entry-b."""
    md5 = pic(1).md5
    _import(
        banks,
        ncmec(images=ncmec_image("entry-a", md5=md5, member=42) + ncmec_image("entry-b", md5=md5, member=43)),
    )
    _import(banks, ncmec(images=ncmec_deleted("entry-b", member=43)), name="deletions.xml")
    assert ("md5", md5) in keyed(list(banks.iter_entries("known")))  # still active: still matches


def test_a_hash_two_members_list_survives_one_members_deletion(banks: BankService) -> None:
    md5 = pic(1).md5
    doc = ncmec(
        images=ncmec_image("entry-a", md5=md5, member=42) + ncmec_image("entry-b", md5=md5, member=43)
    )
    _import(banks, doc)
    entry = keyed(list(banks.iter_entries("known")))[("md5", md5)]
    assert {(r.source, r.external_id) for r in entry.sources} == {
        ("import", "entry-a"),
        ("import", "entry-b"),
    }
    assert {"ncmec:member:42", "ncmec:member:43"} <= set(entry.labels)

    report = _import(banks, ncmec(images=ncmec_deleted("entry-b", member=43)), name="deletions.xml")
    assert report.retracted == 1
    entries = keyed(list(banks.iter_entries("known", include_retracted=True)))
    entry = entries[("md5", md5)]
    assert not entry.retracted  # member 42 still lists it: it must still match
    assert [r.external_id for r in entry.sources if r.live] == ["entry-a"]
    withdrawn = [r for r in entry.sources if not r.live]
    assert [r.external_id for r in withdrawn] == ["entry-b"]
    assert "ncmec:member:43" not in entry.labels

    # the last live record goes: the hash stops matching
    _import(banks, ncmec(images=ncmec_deleted("entry-a")), name="deletions-2.xml")
    entry = keyed(list(banks.iter_entries("known", include_retracted=True)))[("md5", md5)]
    assert entry.retracted
    # and a new source listing it brings it back
    banks.add_entries("known", [EntryInput("md5", md5, external_id="case-7")])
    entry = keyed(list(banks.iter_entries("known")))[("md5", md5)]
    assert not entry.retracted
    assert [(r.source, r.external_id) for r in entry.sources if r.live] == [("manual", "case-7")]


def test_the_match_answer_names_every_live_source(
    store: Store, settings: Settings, banks: BankService
) -> None:
    from ohsc.matching.matcher import Matcher

    md5 = pic(2).md5
    _import(banks, ncmec(images=ncmec_image("entry-a", md5=md5) + ncmec_image("entry-b", md5=md5, member=43)))
    banks.add_entries("known", [EntryInput("md5", md5, external_id="case-7")], source="exchange:hotline")
    _import(banks, ncmec(images=ncmec_deleted("entry-b", member=43)), name="deletions.xml")
    matcher = Matcher.open(store, settings)
    outcome = matcher.match({"md5": md5})
    (match,) = outcome.matches
    assert {(r["source"], r["external_id"]) for r in match.to_dict()["sources"]} == {
        ("import", "entry-a"),
        ("exchange:hotline", "case-7"),
    }


def _vics(records: list[dict[str, object]]) -> bytes:
    return json.dumps(vics(records)).encode()


def test_vics_media_id_0_neither_collapses_records_nor_names_one(banks: BankService) -> None:
    """NIST's NSRL/CAID VICS sets give every record MediaID 0."""
    records = [{"MediaID": 0, "Category": 1, "MD5": fake_md5(i), "SHA1": _sha1(i)} for i in range(3)]
    report = _import(banks, _vics(records), fmt="vics", name="nsrl.json")
    assert report.added == 6
    entries = list(banks.iter_entries("known"))
    assert "0" not in {e.external_id for e in entries}
    # each record's MD5 and SHA1 go out together, and only together
    out = io.BytesIO()
    banks.export("known", out, "vics")
    pairs = {(r["MD5"].lower(), r["SHA1"].lower()) for r in json.loads(out.getvalue())["value"]}
    assert pairs == {(fake_md5(i), _sha1(i)) for i in range(3)}

    # a withdrawal of external id 0 withdraws nothing (lists imported before this fix had 0 everywhere)
    banks.add_entries("known", [EntryInput("md5", fake_md5(9), external_id="0")])
    with pytest.raises(InvalidInputError, match="names no record"):
        banks.retract("known", "0", "withdrawn")
    line = json.dumps({"external_id": "0", "retracted": True}).encode() + b"\n"
    withdrawal = _import(banks, line, fmt="jsonl", name="w.jsonl")
    assert (withdrawal.retracted, withdrawal.invalid) == (0, 1)
    assert banks.get_bank("known").active_entries == 7


def test_vics_records_sharing_a_media_id_are_never_paired(banks: BankService) -> None:
    records = [
        {"MediaID": 7, "Category": 1, "MD5": fake_md5(1)},
        {"MediaID": 7, "Category": 1, "SHA1": _sha1(2)},
        {"MediaID": 7, "Category": 1, "MD5": fake_md5(3), "SHA1": _sha1(3)},
    ]
    _import(banks, _vics(records), fmt="vics", name="shared.json")
    out = io.BytesIO()
    banks.export("known", out, "vics")
    exported = [
        (r.get("MD5", "").lower(), r.get("SHA1", "").lower()) for r in json.loads(out.getvalue())["value"]
    ]
    assert sorted(exported) == sorted([(fake_md5(1), ""), ("", _sha1(2)), (fake_md5(3), _sha1(3))])


def test_a_second_row_for_a_hash_that_says_something_else_counts_as_updated(banks: BankService) -> None:
    rows = "signal_type,value,category,external_id,note\n"
    rows += f"md5,{fake_md5(1)},first,x-1,\nmd5,{fake_md5(1)},second,x-1,\nmd5,{fake_md5(1)},second,x-1,\n"
    report = _import(banks, rows.encode(), fmt="csv", name="dup.csv")
    assert (report.added, report.updated, report.unchanged) == (1, 1, 1)
    (entry,) = banks.iter_entries("known")
    assert entry.category == "second"


def test_bank_add_of_a_file_imported_with_labels_keeps_them(banks: BankService, tmp_path: Path) -> None:
    path = tmp_path / "picture.jpg"
    path.write_bytes(jpeg_bytes(picture(1, (320, 240))))
    rows = f"signal_type,value,category,external_id,note,labels\nmd5,{pic(1).md5},cat-a,list-1,,seen-before\n"
    _import(banks, rows.encode(), fmt="csv", name="list.csv")
    report, failed = banks.add_files("known", [path])
    assert not failed
    assert report.added >= 2  # SHA-1, SHA-256, PDQ are new; the MD5 gets a second record
    entry = keyed(list(banks.iter_entries("known")))[("md5", pic(1).md5)]
    assert "seen-before" in entry.labels
    assert entry.category == "cat-a"
    assert {r.source for r in entry.sources} == {"import", "file"}


def _sha1(i: int) -> str:
    return hashlib.sha1(f"sample-{i}".encode(), usedforsecurity=False).hexdigest()
