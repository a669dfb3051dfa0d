"""Robust banks end to end: descriptors kept when pictures are added, found again after crops and
borders by ``ohsc match``, ``ohsc scan`` and the matcher, each match saying how (SQLite and
PostgreSQL); hash-only entries keep plain PDQ and say so."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ohsc.banks import BankService, EntryInput
from ohsc.cli import main
from ohsc.demo import synth
from ohsc.index.manager import IndexSet
from ohsc.matching import Matcher
from ohsc.robust.descriptor import query_of
from ohsc.settings import Settings
from ohsc.store.db import Store


def write(path: Path, im: object) -> Path:
    path.write_bytes(synth.jpeg_bytes(im, 90))  # type: ignore[arg-type]
    return path


def test_robust_bank_finds_crops_and_borders_that_pdq_misses(
    banks: BankService, store: Store, settings: Settings, tmp_path: Path
) -> None:
    original = synth.picture(41, (640, 480))
    banks.create_bank("robust", robust=True)
    banks.create_bank("plain")
    photo = write(tmp_path / "photo.jpg", original)
    report, failed = banks.add_files("robust", [photo], external_id="pic-41")
    assert not failed and report.added == 4
    banks.add_files("plain", [photo])
    assert banks.get_bank("robust").model_dump(mode="json")["robust"] is True
    matcher = Matcher(store, settings, IndexSet.open(store, settings.index_dir))
    assert matcher.robust_active
    bordered = write(tmp_path / "bordered.jpg", synth.bordered(original, 0.1))
    cropped = write(tmp_path / "cropped.jpg", synth.cropped(original, 0.1, 0.1, 0.1, 0.1))
    for copy in (bordered, cropped):
        from ohsc.signals.files import HashOptions, hash_path

        sig = hash_path(copy, HashOptions.from_settings(settings, mode="exact"))
        plain = matcher.match(sig.signals(), pdq_quality=sig.pdq_quality)
        assert not plain.matched  # plain PDQ misses both copies
        outcome = matcher.match(
            sig.signals(), pdq_quality=sig.pdq_quality, robust=query_of(copy, settings.max_image_pixels)
        )
        assert [(m.bank_name, m.external_id) for m in outcome.matches] == [("robust", "pic-41")]
        m = outcome.matches[0]
        assert m.method in {"pdq-trimmed", "region", "features"} and m.robust is not None
        assert m.to_dict()["method"] == m.method
    # the original itself: plain PDQ, and a described entry says nothing more
    sig_q = query_of(photo, settings.max_image_pixels)
    from ohsc.signals.files import HashOptions, hash_path

    sig = hash_path(photo, HashOptions.from_settings(settings, mode="exact"))
    both = matcher.match(sig.signals(), pdq_quality=sig.pdq_quality, robust=sig_q)
    pdq = [m for m in both.matches if m.signal_type == "pdq"]
    assert {m.bank_name for m in pdq} == {"robust", "plain"} and all(m.method == "pdq" for m in pdq)
    assert all(m.robust is None for m in pdq)
    # retracted: gone from robust matching too
    banks.retract("robust", "pic-41", "withdrawn")
    matcher.refresh()
    gone = matcher.match({}, robust=query_of(bordered, settings.max_image_pixels))
    assert not gone.matched


def test_hash_only_entries_of_a_robust_bank_say_so(
    banks: BankService, store: Store, settings: Settings, tmp_path: Path
) -> None:
    from ohsc.signals.pdq import hash_source

    original = synth.picture(42, (640, 480))
    data = synth.jpeg_bytes(original, 90)
    pdq = hash_source(data, max_pixels=10**8, mode="exact").hex
    banks.create_bank("r", robust=True)
    banks.add_entries("r", [EntryInput("pdq", pdq, external_id="hash-only")])
    matcher = Matcher(store, settings, IndexSet.open(store, settings.index_dir))
    found = matcher.match({"pdq": pdq}, robust=query_of(data, 10**8))
    assert [m.external_id for m in found.matches] == ["hash-only"]
    assert found.matches[0].robust is not None and "hash-only" in found.matches[0].robust["note"]
    bordered = synth.jpeg_bytes(synth.bordered(original, 0.1), 90)
    assert not matcher.match({}, robust=query_of(bordered, 10**8)).matched  # no picture, no robust match
    # adding the picture again describes it
    photo = tmp_path / "p.jpg"
    photo.write_bytes(data)
    banks.add_files("r", [photo])
    matcher.refresh()
    assert matcher.match({}, robust=query_of(bordered, 10**8)).matched


def test_cli_bank_robust_match_and_scan(tmp_path: Path) -> None:
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})

    def ok(*args: str) -> str:
        result = cli.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    original = synth.picture(43, (640, 480))
    photo = write(tmp_path / "photo.jpg", original)
    assert "robust matching" in ok("bank", "create", "known", "--robust")
    ok("bank", "create", "later")
    assert "stay hash-only" in ok("bank", "update", "later", "--robust")
    ok("bank", "add", "known", str(photo), "--external-id", "pic-43")
    copies = tmp_path / "copies"
    copies.mkdir()
    write(copies / "bordered.jpg", synth.bordered(original, 0.05, (255, 255, 255)))
    write(copies / "captioned.jpg", synth.captioned(original))
    write(copies / "other.jpg", synth.picture(44, (640, 480)))
    lines = [
        json.loads(x) for x in ok("match", "--json", *(str(p) for p in sorted(copies.iterdir()))).splitlines()
    ]
    by_name = {Path(r["query"]).name: r for r in lines}
    assert by_name["other.jpg"]["matches"] == []
    for name in ("bordered.jpg", "captioned.jpg"):
        (m,) = by_name[name]["matches"]
        assert m["external_id"] == "pic-43" and m["method"] in {"pdq-trimmed", "region", "features"}
        assert {"inliers", "region", "query_view", "entry_view"} <= set(m["robust"])
    shown = ok("match", str(copies / "captioned.jpg"))
    assert by_name["captioned.jpg"]["matches"][0]["method"] in shown and "region" in shown
    records = tmp_path / "scan.jsonl"
    result = cli.invoke(main, ["scan", str(copies), "--json", str(records), "--quiet", "--workers", "1"])
    assert result.exit_code in (0, 1), result.output  # 1: something matched
    scanned = {
        Path(r["path"]).name: r for r in map(json.loads, records.read_text().splitlines()) if "path" in r
    }
    assert scanned["bordered.jpg"]["matched"] and scanned["captioned.jpg"]["matched"]
    assert not scanned["other.jpg"]["matched"]


def test_robust_index_follows_bank_changes_without_reloading(
    banks: BankService, store: Store, settings: Settings, tmp_path: Path
) -> None:
    """Adding, describing, retracting and deleting entries update the candidate index in place (by
    the entries' change numbers); only turning a robust bank off or on reloads it."""
    from ohsc.robust.store import RobustBanks

    banks.create_bank("r", robust=True)
    pictures = {seed: synth.picture(seed, (640, 480)) for seed in (61, 62, 63)}
    write(tmp_path / "61.jpg", pictures[61])
    banks.add_files("r", [tmp_path / "61.jpg"], external_id="p61")
    robust = RobustBanks(store)
    assert (robust.reloads, robust.updates, len(robust.index)) == (1, 0, 1)
    assert not robust.refresh()  # nothing changed: nothing read again

    def found(seed: int) -> set[int]:
        query = query_of(synth.jpeg_bytes(synth.bordered(pictures[seed], 0.1), 85), 10**8)
        assert query is not None
        return {hit.entry_id for hit in robust.search(query)}

    for seed in (62, 63):
        banks.add_files("r", [write(tmp_path / f"{seed}.jpg", pictures[seed])], external_id=f"p{seed}")
    assert robust.refresh() and (robust.reloads, robust.updates, len(robust.index)) == (1, 1, 3)
    assert all(found(seed) for seed in (61, 62, 63))
    banks.retract("r", "p62", "withdrawn")
    assert robust.refresh() and (robust.reloads, robust.updates, len(robust.index)) == (1, 2, 2)
    assert not found(62) and found(63)
    banks.update_bank("r", enabled=False)
    assert robust.refresh() and robust.reloads == 2 and not robust.active and len(robust.index) == 0
    banks.update_bank("r", enabled=True)
    assert robust.refresh() and robust.reloads == 3 and len(robust.index) == 2
    banks.create_bank("other", robust=True)
    write(tmp_path / "62b.jpg", pictures[62])
    banks.add_files("other", [tmp_path / "62b.jpg"])
    robust.refresh()
    assert found(62)
    banks.delete_bank("other")
    robust.refresh()
    assert not found(62) and found(61)


def test_case_ingest_knows_cropped_and_bordered_copies_from_a_robust_bank(
    banks: BankService, store: Store, settings: Settings, tmp_path: Path
) -> None:
    """Case ingest scans with the scan's pipeline, so robust banks find there what plain PDQ
    misses; the item takes the bank as its known source, an unrelated picture stays unknown."""
    from ohsc.cases.models import CaseItemRow
    from ohsc.cases.service import CaseService
    from ohsc.signals.files import HashOptions, hash_path

    original = synth.picture(71, (640, 480))
    banks.create_bank("robust", robust=True)
    banks.add_files("robust", [write(tmp_path / "known.jpg", original)], category="vics:1")
    seized = tmp_path / "seized"
    seized.mkdir()
    copies = {
        "cropped.jpg": synth.cropped(original, 0.1, 0.1, 0.1, 0.1),
        "bordered.jpg": synth.bordered(original, 0.1, (255, 255, 255)),
    }
    for name, im in copies.items():
        write(seized / name, im)
    write(seized / "unrelated.jpg", synth.picture(72, (640, 480)))
    matcher = Matcher.open(store, settings)
    for name in copies:  # plain PDQ alone would not know them
        sig = hash_path(seized / name, HashOptions.from_settings(settings))
        assert not matcher.match(sig.signals(), pdq_quality=sig.pdq_quality).matched
    service = CaseService(store, settings, actor="test")
    service.create("robust-case")
    summary = service.ingest("robust-case", seized, workers=0, matcher=matcher)
    assert summary.known == 2
    with store.session() as s:
        known = {row.known_bank for row in s.query(CaseItemRow).all()}
        assert known == {"robust", None}
        assert s.query(CaseItemRow).filter(CaseItemRow.known_bank == "robust").count() == 2
