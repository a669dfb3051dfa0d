"""Provenance per source record: two sources listing one hash, withdrawals of one of them,
the match answer naming every source (issue 10, item 1)."""

from __future__ import annotations

import io

import pytest

from ohsc.banks.model import EntryInput, ImportReport
from ohsc.banks.service import BankService
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.format_samples import keyed, ncmec, ncmec_deleted, ncmec_image, pic


@pytest.fixture
def banks(store: Store, settings: Settings) -> BankService:
    service = BankService(store, settings, actor="test")
    service.create_bank("known")
    return service


def _import(
    banks: BankService, data: bytes, fmt: str = "ncmec-xml", name: str = "entries.xml"
) -> ImportReport:
    return banks.import_stream("known", io.BytesIO(data), fmt=fmt, source_name=name)


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
