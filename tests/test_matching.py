"""Indexes kept in step with the store, and bank rules applied to hits (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ohsc.banks import BankService, EntryInput
from ohsc.index.manager import IndexSet
from ohsc.index.persist import read_header
from ohsc.matching import Matcher
from ohsc.settings import Settings
from ohsc.store.db import Store

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "0123456789abcdef0123456789abcdef"


def near(value: str, bits: int) -> str:
    n = int(value, 16)
    for i in range(bits):
        n ^= 1 << (i * 7 % 256)
    return f"{n:064x}"


def test_adds_and_retractions_are_matchable_after_sync(banks: BankService, matcher: Matcher) -> None:
    banks.create_bank("known")
    assert not matcher.match({"pdq": PDQ}).matched
    banks.add_entries("known", [EntryInput("pdq", PDQ, external_id="e1"), EntryInput("md5", MD5)])
    result = matcher.refresh()
    assert result.added == 2
    m = matcher.match({"pdq": near(PDQ, 5), "md5": MD5})
    assert sorted((x.signal_type, x.distance) for x in m.matches) == [("md5", 0), ("pdq", 5)]
    banks.retract("known", "e1", "withdrawn")
    assert matcher.refresh().removed == 1
    assert [x.signal_type for x in matcher.match({"pdq": PDQ, "md5": MD5}).matches] == ["md5"]
    banks.restore("known", "e1")
    matcher.refresh()
    assert matcher.match({"pdq": PDQ}).matched


def test_deleted_banks_disappear_from_every_index(banks: BankService, matcher: Matcher) -> None:
    banks.create_bank("doomed")
    banks.add_entries("doomed", [EntryInput("pdq", PDQ), EntryInput("md5", MD5)])
    matcher.refresh()
    assert matcher.match({"md5": MD5}).matched
    banks.delete_bank("doomed")
    assert matcher.refresh().removed == 2
    assert not matcher.match({"md5": MD5, "pdq": PDQ}).matched
    assert matcher.indexes.get("md5").query(MD5) == []  # type: ignore[union-attr]


def test_per_bank_thresholds(banks: BankService, matcher: Matcher) -> None:
    banks.create_bank("strict", threshold=4)
    banks.create_bank("loose", threshold=40)
    banks.add_entries("strict", [EntryInput("pdq", PDQ)])
    banks.add_entries("loose", [EntryInput("pdq", PDQ)])
    matcher.refresh()
    assert {m.bank_name for m in matcher.match({"pdq": near(PDQ, 3)}).matches} == {"strict", "loose"}
    assert {m.bank_name for m in matcher.match({"pdq": near(PDQ, 20)}).matches} == {"loose"}
    assert {m.bank_name for m in matcher.match({"pdq": near(PDQ, 39)}).matches} == {"loose"}
    assert not matcher.match({"pdq": near(PDQ, 41)}).matched


def test_allowlist_matches_suppress_other_banks(banks: BankService, matcher: Matcher) -> None:
    banks.create_bank("known")
    banks.create_bank("reviewed-ok", allowlist=True, threshold=10)
    banks.add_entries("known", [EntryInput("pdq", PDQ)])
    banks.add_entries("reviewed-ok", [EntryInput("pdq", PDQ)])
    matcher.refresh()
    outcome = matcher.match({"pdq": near(PDQ, 2)})
    assert not outcome.matched
    assert [m.bank_name for m in outcome.suppressed] == ["known"]
    assert [m.bank_name for m in outcome.allowlisted] == ["reviewed-ok"]
    # beyond the allowlist's own threshold the match stands
    outcome = matcher.match({"pdq": near(PDQ, 20)})
    assert outcome.matched and not outcome.suppressed


def test_disabled_banks_do_not_match(banks: BankService, matcher: Matcher) -> None:
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("md5", MD5)])
    banks.update_bank("known", enabled=False)
    matcher.refresh()
    assert not matcher.match({"md5": MD5}).matched


def test_low_quality_hashes_are_flagged_not_matched(banks: BankService, matcher: Matcher) -> None:
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("pdq", PDQ)])
    matcher.refresh()
    outcome = matcher.match({"pdq": PDQ}, pdq_quality=20)
    assert outcome.low_quality and not outcome.matched
    assert matcher.match({"pdq": PDQ}, pdq_quality=20, include_low_quality=True).matched


def test_dihedral_matching_from_hash_and_from_image(banks: BankService, matcher: Matcher) -> None:
    from PIL import Image

    from ohsc.demo import synth
    from ohsc.signals.pdq import hash_image

    original = synth.picture(5)
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("pdq", hash_image(original, mode="exact").hex)])
    matcher.refresh()
    rotated = hash_image(original.transpose(Image.Transpose.ROTATE_90), mode="exact", dihedral=True)
    assert not matcher.match({"pdq": rotated.hex}).matched
    outcome = matcher.match({"pdq": rotated.hex}, dihedral=rotated.dihedral)
    assert outcome.matched and outcome.matches[0].variant not in (None, "original")
    mirrored = hash_image(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT), mode="exact")
    assert matcher.match({"pdq": mirrored.hex}, approximate_dihedral_from_hash=True).matched


def test_index_files_are_reused_and_caught_up(store: Store, settings: Settings, banks: BankService) -> None:
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("md5", MD5)])
    first = IndexSet.open(store, settings.index_dir)
    first.save()
    banks.add_entries("known", [EntryInput("pdq", PDQ)])
    second = IndexSet.open(store, settings.index_dir)
    assert second.loaded_from_files
    assert second.get("pdq").query(PDQ) and second.get("md5").query(MD5)  # type: ignore[union-attr]


def test_damaged_or_foreign_index_files_are_rebuilt(
    store: Store, settings: Settings, banks: BankService, tmp_path: Path
) -> None:
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("md5", MD5), EntryInput("pdq", PDQ)])
    iset = IndexSet.open(store, settings.index_dir)
    iset.save()
    path = settings.index_dir / "pdq.ohscidx"
    header, data_start = read_header(path)
    target = next(a for a in header["arrays"] if a["nbytes"])
    data = bytearray(path.read_bytes())
    data[data_start + target["offset"]] ^= 0xFF
    path.write_bytes(bytes(data))
    rebuilt = IndexSet.open(store, settings.index_dir)
    assert not rebuilt.loaded_from_files
    assert rebuilt.get("pdq").query(PDQ)  # type: ignore[union-attr]
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    foreign = IndexSet.open(other, settings.index_dir)
    assert not foreign.loaded_from_files
    assert foreign.get("md5").query(MD5) == []  # type: ignore[union-attr]
    other.dispose()


def test_a_bad_value_in_the_store_does_not_break_the_index(
    store: Store, settings: Settings, banks: BankService, caplog: pytest.LogCaptureFixture
) -> None:
    """HMA's index build crashes on one bad hash; ours skips it and says which entry."""
    from sqlalchemy import update

    from ohsc.store.models import EntryRow

    banks.create_bank("known")
    banks.add_entries(
        "known", [EntryInput("pdq", PDQ), EntryInput("pdq", near(PDQ, 9)), EntryInput("md5", MD5)]
    )
    with store.session() as s:
        bad_id = s.scalars(select(EntryRow.id).where(EntryRow.value == PDQ)).one()
        s.execute(update(EntryRow).where(EntryRow.id == bad_id).values(value="not-a-hash"))
    iset = IndexSet.open(store, settings.index_dir)
    assert iset.get("pdq").query(near(PDQ, 9))  # type: ignore[union-attr]
    assert f"entry {bad_id}: invalid pdq value skipped" in caplog.text
