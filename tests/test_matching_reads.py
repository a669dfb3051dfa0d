"""What a match names is read from the store at each match (SQLite and PostgreSQL): a retraction
or a source's withdrawal shows in the next match of the same matcher, before any index sync, and
a SQLite store's kept reading connections never serve an old snapshot."""

from __future__ import annotations

import threading
from pathlib import Path

from ohsc.banks import BankService, EntryInput
from ohsc.banks.model import RecordInput
from ohsc.index.manager import IndexSet
from ohsc.matching import Matcher
from ohsc.settings import Settings
from ohsc.store.db import Store

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "0123456789abcdef0123456789abcdef"
OTHER_MD5 = "fedcba9876543210fedcba9876543210"


def test_a_retraction_stops_the_next_match_before_any_sync(banks: BankService, matcher: Matcher) -> None:
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("md5", MD5, external_id="e1"), EntryInput("pdq", PDQ)])
    matcher.refresh()
    for _ in range(3):  # the reading connection is used and kept
        assert [m.external_id for m in matcher.match({"md5": MD5}).matches] == ["e1"]
    banks.retract("known", "e1", "withdrawn by the hotline")
    assert not matcher.match({"md5": MD5}).matched  # the index still has it: no refresh yet
    assert matcher.match({"pdq": PDQ}).matched
    banks.restore("known", "e1")
    assert matcher.match({"md5": MD5}).matched


def test_a_sources_withdrawal_shows_in_the_next_match(banks: BankService, matcher: Matcher) -> None:
    banks.create_bank("shared")
    banks.apply_records("shared", [RecordInput("a-1", (("md5", MD5),))], source="exchange:a")
    banks.apply_records("shared", [RecordInput("b-7", (("md5", MD5),), category="x")], source="exchange:b")
    matcher.refresh()
    (match,) = matcher.match({"md5": MD5}).matches
    assert sorted((r.source, r.external_id) for r in match.sources) == [
        ("exchange:a", "a-1"),
        ("exchange:b", "b-7"),
    ]
    banks.withdraw_records("shared", ["a-1"], source="exchange:a")
    (match,) = matcher.match({"md5": MD5}).matches  # still listed by b: it matches, b alone names it
    assert [(r.source, r.external_id) for r in match.sources] == [("exchange:b", "b-7")]
    banks.withdraw_records("shared", ["b-7"], source="exchange:b")
    assert not matcher.match({"md5": MD5}).matched  # the last record gone: retracted


def test_entries_by_id_reads_entries_with_and_without_records(banks: BankService) -> None:
    banks.create_bank("known")
    banks.create_bank("other")
    banks.add_entries("known", [EntryInput("md5", MD5, external_id="e1", category="c", labels=["l1"])])
    banks.add_entries("other", [EntryInput("md5", OTHER_MD5)])
    banks.apply_records("known", [RecordInput("z-2", (("md5", MD5),))], source="exchange:z")
    ids = [e.id for b in ("known", "other") for e in banks.page_entries(b)]
    found = banks.entries_by_id([*ids, 10**9])
    assert sorted(found) == sorted(ids)
    first, second = (found[i] for i in ids)
    assert (first.bank_name, first.category, first.labels, first.external_id) == ("known", "c", ("l1",), "e1")
    assert [r.source for r in first.sources][-1] == "exchange:z"
    assert first == banks.get_entry(first.id)  # the same entry the ORM reading gives
    assert second.bank_name == "other" and second == banks.get_entry(second.id)
    assert banks.entries_by_id([]) == {}


def test_a_write_by_another_store_on_the_file_is_seen_at_once(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    """As ``ohsc bank retract`` in another process while a scan runs: the scan's kept reading
    connection reads the store as it is now, not as it was when the connection was opened."""
    banks = BankService(sqlite_store, settings, actor="test")
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("md5", MD5, external_id="e1")])
    matcher = Matcher(sqlite_store, settings, IndexSet.open(sqlite_store, settings.index_dir))
    assert matcher.match({"md5": MD5}).matched
    other = Store(sqlite_store.url)
    try:
        BankService(other, settings, actor="elsewhere").retract("known", "e1", "withdrawn")
    finally:
        other.dispose()
    assert not matcher.match({"md5": MD5}).matched


def test_matches_from_many_threads_share_the_reading_connections(
    sqlite_store: Store, settings: Settings
) -> None:
    banks = BankService(sqlite_store, settings, actor="test")
    banks.create_bank("known")
    banks.add_entries("known", [EntryInput("md5", MD5), EntryInput("md5", OTHER_MD5)])
    matcher = Matcher(sqlite_store, settings, IndexSet.open(sqlite_store, settings.index_dir))
    failures: list[BaseException] = []

    def work(value: str) -> None:
        try:
            for _ in range(25):
                assert [m.value for m in matcher.match({"md5": value}).matches] == [value]
        except BaseException as exc:  # reported by the test thread below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(v,)) for v in (MD5, OTHER_MD5) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_a_retracted_video_stops_matching_before_any_sync(
    store: Store, settings: Settings, banks: BankService, tmp_path: Path
) -> None:
    from ohsc.signals.files import HashOptions, hash_bytes
    from tests.videos import clips, write

    banks.create_bank("known")
    banks.add_files("known", [write(tmp_path, "original.mp4", clips().original)])
    video = next(e for e in banks.iter_entries("known") if e.signal_type == "vpdq")
    matcher = Matcher.open(store, settings)
    signals = hash_bytes(clips().copies["reencoded at a low bitrate"], HashOptions.from_settings(settings))

    def video_matches() -> list[int]:
        outcome = matcher.match(signals.signals(), pdq_quality=signals.pdq_quality)
        return [m.entry_id for m in outcome.matches if m.signal_type == "vpdq"]

    assert video_matches() == [video.id]
    banks.retract("known", str(video.id), "withdrawn by source")
    assert video_matches() == []  # the frame index still has it: no refresh yet
