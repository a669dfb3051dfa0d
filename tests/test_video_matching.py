"""Video matching end to end on the store: bank videos by vPDQ, copies found both ways with the
matched time ranges, unrelated videos not; bank rules, retraction, deletion, index files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohsc.banks.model import EntryInput
from ohsc.banks.service import BankService
from ohsc.index.manager import IndexSet
from ohsc.index.vpdq_index import VpdqIndex
from ohsc.matching.matcher import Matcher
from ohsc.settings import Settings, load_settings
from ohsc.signals.files import HashOptions, hash_bytes
from ohsc.store.db import Store
from tests.videos import clips, write


@pytest.fixture
def banks(store: Store, settings: Settings) -> BankService:
    return BankService(store, settings)


def _bank_with_original(banks: BankService, tmp_path: Path, name: str = "known", **kw: object) -> int:
    banks.create_bank(name, **kw)  # type: ignore[arg-type]
    report, failed = banks.add_files(name, [write(tmp_path, "original.mp4", clips().original)])
    assert not failed
    assert report.added == 4, report.notes  # md5, sha1, sha256 and vpdq
    entry = next(e for e in banks.iter_entries(name) if e.signal_type == "vpdq")
    return entry.id


def _video_matches(matcher: Matcher, data: bytes) -> list[dict[str, object]]:
    sig = hash_bytes(data, HashOptions.from_settings(matcher.settings))  # fast mode, as in scans
    outcome = matcher.match(sig.signals(), pdq_quality=sig.pdq_quality)
    return [m.to_dict() for m in outcome.matches if m.signal_type == "vpdq"]


def test_edited_copies_match_their_original_and_unrelated_videos_do_not(
    store: Store, settings: Settings, banks: BankService, tmp_path: Path
) -> None:
    entry_id = _bank_with_original(banks, tmp_path)
    banks.create_bank("other")
    banks.add_files("other", [write(tmp_path, "unrelated.mp4", clips().unrelated[2])])
    matcher = Matcher.open(store, settings)
    for name, data in clips().copies.items():
        found = _video_matches(matcher, data)
        assert [m["entry_id"] for m in found] == [entry_id], name
        video = found[0]["video"]
        assert isinstance(video, dict)
        assert max(video["query_percent"], video["bank_percent"]) >= 80, (name, video)
        assert video["segments"], name
    assert _video_matches(matcher, clips().unrelated[0]) == []
    assert _video_matches(matcher, clips().unrelated[1]) == []
    assert [m["bank"] for m in _video_matches(matcher, clips().unrelated[2])] == ["other"]


def test_percentages_both_ways_and_time_ranges(
    store: Store, settings: Settings, banks: BankService, tmp_path: Path
) -> None:
    _bank_with_original(banks, tmp_path)
    matcher = Matcher.open(store, settings)
    # a 4-second clip from 2 s: all of the query is in the bank video, half of the bank video in it
    [clip] = _video_matches(matcher, clips().copies["trimmed"])
    video = clip["video"]
    assert isinstance(video, dict)
    assert video["query_percent"] == 100
    assert 30 <= video["bank_percent"] <= 70
    [segment] = video["segments"]
    assert segment["query_start"] == 0
    assert segment["query_end"] == pytest.approx(3, abs=1)
    assert segment["bank_start"] == pytest.approx(2, abs=1)
    assert segment["bank_end"] == pytest.approx(5, abs=1)
    # the whole bank video inside a longer one: 8 s of unrelated video before it
    [embedded] = _video_matches(matcher, clips().copies["embedded in a longer video"])
    video = embedded["video"]
    assert isinstance(video, dict)
    assert video["bank_percent"] >= 80
    assert video["query_percent"] <= 50
    [segment] = video["segments"]
    assert segment["query_start"] == pytest.approx(8, abs=1)
    assert segment["bank_start"] == pytest.approx(0, abs=1)


def test_thresholds_are_settings(store: Store, tmp_path: Path, banks: BankService) -> None:
    _bank_with_original(banks, tmp_path)
    strict = load_settings(home=tmp_path / "home", vpdq_match_mode="query")
    matcher = Matcher.open(store, strict)
    assert _video_matches(matcher, clips().copies["trimmed"])
    assert _video_matches(matcher, clips().copies["embedded in a longer video"]) == []
    both = Matcher.open(store, load_settings(home=tmp_path / "home", vpdq_match_mode="both"))
    assert _video_matches(both, clips().copies["trimmed"]) == []
    assert _video_matches(both, clips().copies["reencoded at a low bitrate"])
    low = Matcher.open(
        store, load_settings(home=tmp_path / "home", vpdq_match_mode="both", vpdq_match_percent=30)
    )
    assert _video_matches(low, clips().copies["trimmed"])
    # frame distance is the bank's PDQ threshold
    banks.update_bank("known", threshold=0)
    exact = Matcher.open(store, load_settings(home=tmp_path / "home"))
    assert _video_matches(exact, clips().original)
    assert _video_matches(exact, clips().copies["cropped 5%"]) == []


def test_allowlist_disable_retract_restore_delete(
    store: Store, settings: Settings, banks: BankService, tmp_path: Path
) -> None:
    entry_id = _bank_with_original(banks, tmp_path)
    matcher = Matcher.open(store, settings)
    copy = clips().copies["reencoded at a low bitrate"]
    assert _video_matches(matcher, copy)
    banks.retract("known", str(entry_id), "withdrawn by source")
    matcher.refresh()
    assert _video_matches(matcher, copy) == []
    banks.restore("known", str(entry_id))
    matcher.refresh()
    assert _video_matches(matcher, copy)
    banks.update_bank("known", enabled=False)
    matcher.refresh()
    assert _video_matches(matcher, copy) == []
    banks.update_bank("known", enabled=True)
    _bank_with_original(banks, tmp_path, "reviewed-ok", allowlist=True)
    matcher.refresh()
    sig = hash_bytes(copy, HashOptions())
    outcome = matcher.match(sig.signals())
    assert not outcome.matched
    assert any(m.signal_type == "vpdq" for m in outcome.suppressed)
    banks.delete_bank("reviewed-ok")
    banks.delete_bank("known")
    matcher.refresh()
    assert _video_matches(matcher, copy) == []
    from sqlalchemy import func, select

    from ohsc.signals.vpdq_store import VpdqFramesRow

    with store.session() as s:  # the frames went with the last entry referring to them
        assert s.scalar(select(func.count()).select_from(VpdqFramesRow)) == 0


def test_index_files_keep_videos_and_sync_incrementally(
    store: Store, settings: Settings, banks: BankService, tmp_path: Path
) -> None:
    entry_id = _bank_with_original(banks, tmp_path)
    first = IndexSet.open(store, settings.index_dir)
    first.save()
    assert (settings.index_dir / "vpdq.ohscidx").exists()
    banks.create_bank("later")
    banks.add_files("later", [write(tmp_path, "u.mp4", clips().unrelated[0])])
    second = IndexSet.open(store, settings.index_dir)
    assert second.loaded_from_files
    index = second.get("vpdq")
    assert isinstance(index, VpdqIndex)
    assert len(index) == 2
    assert index.video(entry_id) is not None
    matcher = Matcher(store, settings, second)
    assert _video_matches(matcher, clips().copies["frame rate changed"])
    assert index.query(hash_bytes(clips().original, HashOptions()).signals()["vpdq"], 31)[0].label == entry_id
    rebuilt = IndexSet(store, None)
    rebuilt.rebuild()
    assert len(rebuilt.get("vpdq") or []) == 2


def test_query_by_vpdq_value_or_id_and_video_digests(
    store: Store, settings: Settings, banks: BankService, tmp_path: Path
) -> None:
    entry_id = _bank_with_original(banks, tmp_path)
    ref = banks.get_entry(entry_id).value
    matcher = Matcher.open(store, settings)
    assert [m.entry_id for m in matcher.match({"vpdq": ref}).matches] == [entry_id]
    sig = hash_bytes(clips().original, HashOptions())
    plain = "\n".join(f"{f.frame},{f.quality},{f.pdq},{f.timestamp:.3f}" for f in sig.vpdq or [])
    assert [m.entry_id for m in matcher.match({"vpdq": plain}).matches] == [entry_id]
    # a video_md5 from a hash list is found by a file's md5, and the other way round
    banks.create_bank("te")
    banks.add_entries("te", [EntryInput("video_md5", sig.md5 or ""), EntryInput("sha256", sig.sha256 or "")])
    matcher.refresh()
    found = {m.signal_type for m in matcher.match({"md5": sig.md5 or ""}).matches}
    assert found == {"md5", "video_md5"}
    assert {m.signal_type for m in matcher.match({"video_sha256": sig.sha256 or ""}).matches} == {"sha256"}
