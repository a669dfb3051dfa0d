"""Triage cases: ingest of folders, zip and tar archives, exact duplicates as locations, near-duplicate
stacks, series, known items from banks, stats, resume after ``kill -9``."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from ohsc.banks import BankService
from ohsc.banks.model import EntryInput
from ohsc.cases.models import CaseItemRow, CaseLocationRow
from ohsc.cases.service import CaseService
from ohsc.cli import main
from ohsc.errors import CaseExistsError, CaseNotFoundError, InvalidInputError
from ohsc.matching import Matcher
from ohsc.settings import Settings
from ohsc.signals.files import HashOptions, hash_bytes
from ohsc.store.db import Store
from tests.images import encode, picture

OHSC = str(Path(sys.executable).with_name("ohsc"))


def jpeg(
    seed: int, size: tuple[int, int] = (640, 480), q: int = 90, exif: dict[int, str] | None = None
) -> bytes:
    im = picture(seed, size).convert("RGB")
    params: dict[str, object] = {"quality": q}
    if exif:
        ex = Image.Exif()
        ifd = ex.get_ifd(0x8769)
        for tag, value in exif.items():
            if tag >= 0x9000:
                ifd[tag] = value
            else:
                ex[tag] = value
        params["exif"] = ex
    return encode(im, "JPEG", **params)


def resized(data: bytes, factor: float = 0.5, q: int = 70) -> bytes:
    im = Image.open(io.BytesIO(data))
    return encode(im.resize((int(im.width * factor), int(im.height * factor))), "JPEG", quality=q)


@pytest.fixture
def service(store: Store, settings: Settings) -> CaseService:
    return CaseService(store, settings, actor="test")


def _collection(root: Path) -> dict[str, bytes]:
    """A benign seized collection: copies, a resized near-duplicate, and unrelated pictures."""
    a, b, c = jpeg(1), jpeg(2), jpeg(3)
    files = {
        "DCIM/a.jpg": a,
        "DCIM/b.jpg": b,
        "backup/a-copy.jpg": a,
        "backup/a-small.jpg": resized(a),
        "other/c.jpg": c,
        "notes.txt": b"a plain text note\n",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def test_create_list_and_names(service: CaseService) -> None:
    made = service.create("op-alpha", scheme="uk", agreement=2)
    assert (made.scheme, made.agreement) == ("uk", 2)
    assert [c.name for c in service.list_cases()] == ["op-alpha"]
    with pytest.raises(CaseExistsError):
        service.create("op-alpha")
    with pytest.raises(InvalidInputError):
        service.create("x", scheme="fr")
    with pytest.raises(CaseNotFoundError):
        service.stats("missing")


def test_folder_zip_and_tar_fold_duplicates_and_stack(
    service: CaseService, store: Store, tmp_path: Path
) -> None:
    files = _collection(tmp_path / "seized")
    _zip(tmp_path / "phone.zip", {"Camera/a.jpg": files["DCIM/a.jpg"], "Camera/d.jpg": jpeg(4)})
    _tar(tmp_path / "cloud.tgz", {"x/b.jpg": files["DCIM/b.jpg"]})
    before = {p: p.read_bytes() for p in (tmp_path / "seized").rglob("*") if p.is_file()}
    service.create("case1")
    s1 = service.ingest("case1", tmp_path / "seized", workers=0)
    assert (s1.kind, s1.files, s1.new_items, s1.duplicates) == ("folder", 6, 5, 1)
    s2 = service.ingest("case1", tmp_path / "phone.zip", workers=0)
    assert (s2.kind, s2.files, s2.new_items, s2.duplicates) == ("archive", 2, 1, 1)
    s3 = service.ingest("case1", tmp_path / "cloud.tgz", workers=0)
    assert (s3.files, s3.new_items, s3.duplicates) == (1, 0, 1)
    # originals untouched
    assert before == {p: p.read_bytes() for p in (tmp_path / "seized").rglob("*") if p.is_file()}
    st = service.stats("case1")
    assert (st.sources, st.files, st.unique, st.known, st.unknown) == (3, 9, 6, 0, 6)
    # a, a-small stack together; b, c, d, the note alone
    assert (st.stacks, st.multi_stacks) == (5, 1)
    a_md5 = hash_bytes(files["DCIM/a.jpg"], HashOptions()).md5
    with store.session() as s:
        item = s.query(CaseItemRow).filter_by(md5=a_md5).one()
        paths = sorted(loc.path for loc in s.query(CaseLocationRow).filter_by(item_id=item.id))
        small = (
            s.query(CaseItemRow)
            .filter_by(md5=hash_bytes(files["backup/a-small.jpg"], HashOptions()).md5)
            .one()
        )
        assert small.stack_id == item.stack_id == item.id
    assert paths == ["DCIM/a.jpg", "backup/a-copy.jpg", "phone.zip!Camera/a.jpg"]
    locs = service.locations(item.id)
    assert all(loc["modified_at"] for loc in locs if "!" not in loc["path"])


def test_running_an_ingest_again_counts_failed_files_once(service: CaseService, tmp_path: Path) -> None:
    """A file that cannot be read has no location: a second run (a resume) replays its journal
    line, and the source's error count doubled."""
    files = _collection(tmp_path / "seized")
    (tmp_path / "seized" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    service.create("again")
    first = service.ingest("again", tmp_path / "seized", workers=0)
    second = service.ingest("again", tmp_path / "seized", workers=0)
    assert (first.errors, second.new_items) == (1, 0)
    stats = service.stats("again")
    assert (stats.errors, stats.files, stats.unique) == (1, len(files), 5)


def test_the_counting_thread_never_uses_the_database(service: CaseService, tmp_path: Path) -> None:
    """The file count runs in a thread of its own while the ingest writes; a store bound to one
    connection (PostgreSQL in these tests, a unit of work in a caller's transaction) cannot take
    statements from two threads at once ("savepoint does not exist"). Progress reaches the source
    row from the ingest's own thread only."""
    import threading

    from sqlalchemy import event

    _collection(tmp_path / "seized")
    threads: set[str] = set()

    def seen(*_args: object) -> None:
        threads.add(threading.current_thread().name)

    event.listen(service.store.engine, "before_cursor_execute", seen)
    try:
        service.create("counted")
        service.ingest("counted", tmp_path / "seized", workers=0)
    finally:
        event.remove(service.store.engine, "before_cursor_execute", seen)
    assert "ohsc-count" not in threads
    with service.store.session() as s:
        from ohsc.cases.models import CaseSourceRow

        row = s.query(CaseSourceRow).one()
        assert row.done is not None and row.total == row.done > 0


def test_known_items_take_the_bank_category(store: Store, settings: Settings, tmp_path: Path) -> None:
    files = _collection(tmp_path / "seized")
    banks = BankService(store, settings, actor="test")
    banks.create_bank("known-set")
    sig = hash_bytes(files["DCIM/b.jpg"], HashOptions())
    assert sig.md5 is not None
    banks.add_entries("known-set", [EntryInput("md5", sig.md5, category="vics:1")])
    service = CaseService(store, settings, actor="test")
    service.create("case2")
    summary = service.ingest("case2", tmp_path / "seized", workers=0, matcher=Matcher.open(store, settings))
    assert summary.known == 1
    st = service.stats("case2")
    assert (st.known, st.unknown, st.categorised) == (1, 4, 1)
    with store.session() as s:
        row = s.query(CaseItemRow).filter_by(md5=sig.md5).one()
        assert (row.known_bank, row.category, row.category_source) == ("known-set", "1", "known")


def test_series_by_camera_folder_and_time(service: CaseService, tmp_path: Path) -> None:
    root = tmp_path / "card"
    (root / "DCIM").mkdir(parents=True)
    cam = {0x010F: "Benign Cams", 0x0110: "Model 7", 0xA431: "SN123"}
    for i, when in enumerate(["2024:05:01 10:00:00", "2024:05:01 10:05:00", "2024:05:01 10:20:00"]):
        (root / "DCIM" / f"{i}.jpg").write_bytes(jpeg(20 + i, exif={**cam, 0x9003: when}))
    (root / "DCIM" / "late.jpg").write_bytes(jpeg(30, exif={**cam, 0x9003: "2024:06:01 10:00:00"}))
    (root / "DCIM" / "other.jpg").write_bytes(jpeg(31, exif={0x010F: "Else", 0x9003: "2024:05:01 10:01:00"}))
    service.create("case3", series_seconds=1800)
    summary = service.ingest("case3", root, workers=0)
    assert summary.series == 1
    assert service.stats("case3").series == 1


def test_cli_create_ingest_stats(tmp_path: Path) -> None:
    _collection(tmp_path / "seized")
    runner = CliRunner()
    assert runner.invoke(main, ["case", "create", "cli-case"]).exit_code == 0
    result = runner.invoke(
        main,
        ["case", "ingest", "cli-case", str(tmp_path / "seized"), "--workers", "0", "--quiet", "--no-match"],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["case", "stats", "cli-case", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert (stats["files"], stats["unique"], stats["stacks"]) == (6, 5, 4)
    listed = runner.invoke(main, ["case", "list", "--json"])
    assert json.loads(listed.stdout)["name"] == "cli-case"
    assert runner.invoke(main, ["case", "stats", "nope"]).exit_code == 4
    exported = runner.invoke(
        main, ["case", "export", "cli-case", "--format", "vics", "-o", str(tmp_path / "x.json"), "--all"]
    )
    assert exported.exit_code == 0, exported.output
    assert len(json.loads((tmp_path / "x.json").read_text())["value"]) == 5


@pytest.mark.slow
def test_resume_after_kill_9_loses_and_doubles_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    data = jpeg(5, (320, 240))
    n = 400
    for i in range(n):  # benign, generated; each copy differs in its last bytes
        (folder / f"p{i:04d}.jpg").write_bytes(data + i.to_bytes(4, "big"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OHSC_")},
        "OHSC_HOME": str(tmp_path / "h"),
    }
    subprocess.run([OHSC, "case", "create", "k9"], env=env, check=True, capture_output=True)
    cmd = [OHSC, "case", "ingest", "k9", str(folder), "--workers", "1", "--quiet", "--no-match"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = tmp_path / "h" / "cases" / "1" / "source-1.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.exists() or journal.read_bytes().count(b"\n") < 40):
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before it could be killed: give it more files"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    done = subprocess.run([*cmd, "--json"], env=env, check=True, capture_output=True, text=True)
    summary = json.loads(done.stdout)
    assert summary["resumed_skipped"] > 0
    stats = json.loads(
        subprocess.run(
            [OHSC, "case", "stats", "k9", "--json"], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    assert (stats["files"], stats["unique"]) == (n, n)


def _ids(service: CaseService, name: str, **flt: object) -> list[int]:
    from ohsc.cases.grid import GridFilter

    out: list[int] = []
    cursor = None
    while True:
        got = service.grid(name, GridFilter(**flt), cursor=cursor, limit=2)  # type: ignore[arg-type]
        out += [i.id for i in got["items"]]
        cursor = got["next"]
        if cursor is None:
            return out


def test_grid_puts_unknown_first_and_pages(store: Store, settings: Settings, tmp_path: Path) -> None:
    files = _collection(tmp_path / "seized")
    banks = BankService(store, settings, actor="test")
    banks.create_bank("known-set")
    md5 = hash_bytes(files["DCIM/a.jpg"], HashOptions()).md5
    assert md5 is not None
    banks.add_entries("known-set", [EntryInput("md5", md5, category="vics:2")])
    service = CaseService(store, settings, actor="test")
    service.create("grid")
    service.ingest("grid", tmp_path / "seized", workers=0, matcher=Matcher.open(store, settings))
    ids = _ids(service, "grid")
    with store.session() as s:
        known = {r.id for r in s.query(CaseItemRow).filter_by(known=True)}
    assert len(ids) == 5 and len(set(ids)) == 5
    assert ids[-1] in known and not known & set(ids[:-1])
    assert _ids(service, "grid", known="known") == sorted(known)
    assert len(_ids(service, "grid", min_stack=2)) == 2
    assert len(_ids(service, "grid", media_kind="other")) == 1
    assert _ids(service, "grid", category="2") == sorted(known)
    assert len(_ids(service, "grid", sort="largest")) == 5


def _kept_and_counted(store: Store) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    from sqlalchemy import func, select

    from ohsc.cases.models import CaseStackRow

    with store.session() as s:
        kept = {(r.case_id, r.stack_id): r.size for r in s.scalars(select(CaseStackRow))}
        counted = {
            (case_id, int(stack_id or 0)): n
            for case_id, stack_id, n in s.execute(
                select(CaseItemRow.case_id, CaseItemRow.stack_id, func.count()).group_by(
                    CaseItemRow.case_id, CaseItemRow.stack_id
                )
            )
        }
    return kept, counted


def test_stack_sizes_are_kept_as_items_join_stacks(service: CaseService, tmp_path: Path) -> None:
    """The grid's stack-size filter reads sizes kept at ingest (no count over the case's items):
    they equal the items' counts after ingests of folders, a later near-duplicate, and VICS."""
    files = _collection(tmp_path / "seized")
    service.create("kept")
    service.ingest("kept", tmp_path / "seized", workers=0)
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "a-smaller.jpg").write_bytes(resized(files["DCIM/a.jpg"], 0.4, q=60))
    service.ingest("kept", tmp_path / "later", workers=0)
    ids = _ids(service, "kept", media_kind="image")
    service.categorise("kept", ids[:2], "1")
    out = tmp_path / "case.json"
    with out.open("wb") as fh:
        service.export_vics("kept", fh)
    service.create("vics-source")
    service.ingest("vics-source", out)
    kept, counted = _kept_and_counted(service.store)
    assert kept == counted
    assert sorted(kept.values(), reverse=True)[0] == 3  # a, its resized copy and the later one
    assert len(_ids(service, "kept", min_stack=3)) == 3
    assert _ids(service, "kept", min_stack=4) == []


def test_two_analysts_must_agree(store: Store, settings: Settings, tmp_path: Path) -> None:
    _collection(tmp_path / "seized")
    first = CaseService(store, settings, actor="user:ann")
    second = CaseService(store, settings, actor="user:bob")
    third = CaseService(store, settings, actor="user:cy")
    first.create("agree", agreement=2)
    first.ingest("agree", tmp_path / "seized", workers=0)
    ids = _ids(first, "agree")
    stacked = _ids(first, "agree", min_stack=2)
    r = first.categorise("agree", [stacked[0]], "1", whole_stacks=True)
    assert (r["items"], r["final"]) == (2, 0)
    assert first.item("agree", stacked[1])["category"] is None
    r = second.categorise("agree", stacked, "Cat 1: child abuse material")
    assert r["final"] == 2
    assert first.item("agree", stacked[0])["category"] == "1"
    # a disagreement: ann says 3, bob says 4; it waits in the disagreements queue
    lone = next(i for i in ids if i not in stacked)
    first.categorise("agree", [lone], "3")
    second.categorise("agree", [lone], "4")
    assert _ids(first, "agree", disputed=True) == [lone]
    third.categorise("agree", [lone], "4")
    assert _ids(first, "agree", disputed=True) == []
    assert first.item("agree", lone)["category"] == "4"
    st = first.stats("agree")
    assert st.by_analyst == {"user:ann": 3, "user:bob": 3, "user:cy": 1}
    with pytest.raises(InvalidInputError):
        first.categorise("agree", [lone], "7")


def test_uk_scheme_stores_vics_codes(service: CaseService, tmp_path: Path) -> None:
    _collection(tmp_path / "seized")
    service.create("uk-case", scheme="uk")
    service.ingest("uk-case", tmp_path / "seized", workers=0)
    first = _ids(service, "uk-case")[0]
    service.categorise("uk-case", [first], "category b")
    detail = service.item("uk-case", first)
    assert (detail["category"], detail["category_name"]) == ("2", "Category B")


def _iped_accepts(path: Path) -> list[dict[str, object]]:
    """What IPED's VICS reader (HashDBTool.readProjectVic) insists on, checked on the raw JSON:
    the 2.0 Default context as the first key, ``value`` as the second and last, flat media
    records with a numeric Category and text MD5/SHA1."""
    doc = json.loads(path.read_text(), object_pairs_hook=list)
    keys = [k for k, _v in doc]
    assert keys == ["@odata.context", "value"]
    assert (
        doc[0][1] == "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
    )
    records = [dict(r) for r in doc[1][1]]
    for record in records:
        assert isinstance(record.get("Category"), int) and not isinstance(record["Category"], bool)
        for key in ("MD5", "SHA1"):
            assert key not in record or isinstance(record[key], str)
        for key, value in record.items():
            assert not isinstance(value, list) or key == "AlternativeHashes"
            assert not (
                isinstance(value, list)
                and value
                and isinstance(value[0], tuple)
                and key != "AlternativeHashes"
            )
    return records


def test_vics_export_reimports_into_a_bank_that_matches_the_files(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    files = _collection(tmp_path / "seized")
    service = CaseService(store, settings, actor="user:ann")
    service.create("export")
    service.ingest("export", tmp_path / "seized", workers=0)
    ids = _ids(service, "export", media_kind="image")
    service.categorise("export", ids[:2], "1")
    service.categorise("export", ids[2:3], "0")
    out = tmp_path / "case.json"
    with out.open("wb") as fh:
        assert service.export_vics("export", fh) == 3
    records = _iped_accepts(out)
    assert sorted(int(str(r["Category"])) for r in records) == [0, 1, 1]
    banks = BankService(store, settings, actor="test")
    banks.create_bank("from-case")
    report = banks.import_file("from-case", out, "vics")
    assert report.added > 0
    matcher = Matcher.open(store, settings)
    matched = 0
    for data in files.values():
        sig = hash_bytes(data, HashOptions())
        outcome = matcher.match(sig.signals(), pdq_quality=sig.pdq_quality)
        matched += outcome.matched
        assert all(m.category == "vics:1" for m in outcome.matches)
    assert matched >= 2
    # and another case takes the export as a source: pre-categorised, known
    service.create("next-agency")
    summary = service.ingest("next-agency", out)
    assert (summary.kind, summary.new_items, summary.known) == ("vics", 2, 2)  # category 0 is skipped
    assert service.stats("next-agency").by_category == {"Cat 1: child abuse material": 2}


def _fat_image(tmp_path: Path, files: dict[str, bytes], delete: list[str]) -> Path:
    """A FAT12 image built in Python (tests/fatimage.py: no mkfs.fat or mtools needed)."""
    from tests.fatimage import fat_image

    return fat_image(tmp_path / "card.img", files, delete)


@pytest.mark.parametrize("fmt", ["raw", "card.E01", "evidence.bin"])
def test_disk_image_of_benign_pictures(service: CaseService, store: Store, tmp_path: Path, fmt: str) -> None:
    """A FAT12 image (raw/dd, and the same wrapped as EnCase E01, chosen by its first bytes)."""
    pytest.importorskip("pytsk3", reason="disk images need the forensics extra (pytsk3)")
    a, b = jpeg(40), jpeg(41)
    image = _fat_image(tmp_path, {"DCIM/A.JPG": a, "DCIM/B.JPG": b, "COPY.JPG": a}, delete=["DCIM/B.JPG"])
    if fmt != "raw":  # the same image as EnCase E01, named as EnCase does or not at all
        pytest.importorskip("pyewf", reason="E01 images need the forensics extra (libewf-python)")
        from tests.ewfimage import ewf_image

        image = ewf_image(image, tmp_path / fmt)  # recognised by content, not the name
        assert image.read_bytes()[:8] == b"EVF\x09\x0d\x0a\xff\x00"
    original = image.read_bytes()
    service.create("disk")
    summary = service.ingest("disk", image, workers=0)
    assert (summary.kind, summary.new_items, summary.duplicates) == ("disk", 2, 1)
    assert image.read_bytes() == original  # never modified
    with store.session() as s:
        locs = {loc.path: loc for loc in s.query(CaseLocationRow)}
    deleted = [p for p, loc in locs.items() if loc.deleted]
    assert len(deleted) == 1 and deleted[0].startswith("DCIM/") and "deleted" in deleted[0]
    assert locs["COPY.JPG"].modified_at is not None and not locs["COPY.JPG"].deleted
    when = locs["DCIM/A.JPG"].modified_at  # FAT keeps local time: within a day of what was written
    assert when is not None and abs(when - datetime(2024, 5, 6, 10, 20, 30, tzinfo=UTC)) <= timedelta(days=1)
    b_item = next(
        i for i in _ids(service, "disk") if service.item("disk", i)["md5"] == hash_bytes(b, HashOptions()).md5
    )
    assert service.preview("disk", b_item) is not None  # read back from the image


def test_push_confirmed_categories_into_a_bank_and_report(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    files = _collection(tmp_path / "seized")
    ann = CaseService(store, settings, actor="user:ann")
    bob = CaseService(store, settings, actor="user:bob")
    ann.create("push", scheme="uk", agreement=2)
    ann.ingest("push", tmp_path / "seized", workers=0)
    ids = _ids(ann, "push", media_kind="image")
    for analyst in (ann, bob):
        analyst.categorise("push", ids[:1], "A")
    ann.categorise("push", ids[1:2], "B")  # not agreed: not pushed
    BankService(store, settings, actor="test").create_bank("confirmed")
    result = ann.push_to_bank("push", "confirmed")
    assert result["items"] == 1 and result["added"] >= 3  # md5, sha1, sha256 (+ pdq)
    entries = list(BankService(store, settings).iter_entries("confirmed"))
    assert {e.category for e in entries} == {"vics:1"}
    assert all("caid:A" in e.labels for e in entries)
    outcome = Matcher.open(store, settings).match(hash_bytes(files["DCIM/a.jpg"], HashOptions()).signals())
    assert outcome.matched == (
        ann.item("push", ids[0])["md5"] == hash_bytes(files["DCIM/a.jpg"], HashOptions()).md5
    )
    document = ann.report("push").decode()
    assert "Category A" in document and "user:bob" in document and ann.item("push", ids[0])["md5"] in document
    assert "<img" not in document
    if importlib.util.find_spec("weasyprint") is None:  # not importorskip: importing it is the bug below
        pytest.skip("PDF reports need WeasyPrint (the pdf extra)")
    assert ann.report("push", "pdf").startswith(b"%PDF")
    # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported: a truncated
    # picture hashed later in this process must still fail, not hash as zeros
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_videos_get_vpdq_a_keyframe_strip_and_are_known_from_a_video_bank(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    pytest.importorskip("av", reason="videos need PyAV")
    from ohsc.cases.strips import strip_path
    from tests.videos import clips

    videos = clips()
    seized = tmp_path / "seized"
    (seized / "Movies").mkdir(parents=True)
    (seized / "Movies" / "a.mp4").write_bytes(videos.original)
    (seized / "copy.mp4").write_bytes(videos.original)
    (seized / "Movies" / "b.mp4").write_bytes(videos.unrelated[0])
    (seized / "p.jpg").write_bytes(jpeg(60))
    known = hash_bytes(videos.original, HashOptions.from_settings(settings))
    assert known.vpdq
    banks = BankService(store, settings, actor="test")
    banks.create_bank("video-set")
    banks.add_entries("video-set", [EntryInput("vpdq", known.signals()["vpdq"], category="vics:2")])
    service = CaseService(store, settings, actor="test")
    service.create("vid")
    summary = service.ingest("vid", seized, workers=0, matcher=Matcher.open(store, settings))
    assert (summary.files, summary.new_items, summary.duplicates, summary.known) == (4, 3, 1, 1)
    with store.session() as s:
        rows = {r.md5: r for r in s.query(CaseItemRow).filter_by(media_kind="video")}
        case_id = s.query(CaseItemRow).first().case_id  # type: ignore[union-attr]
    assert len(rows) == 2 and all(r.vpdq for r in rows.values())
    original = rows[str(known.md5)]
    assert (original.known, original.known_bank, original.category) == (True, "video-set", "2")
    assert original.locations == 2
    other = next(r for r in rows.values() if r.md5 != known.md5)
    assert not other.known
    kept = strip_path(settings.home, case_id, other.md5)
    assert kept.exists()  # made at ingest
    strip = Image.open(io.BytesIO(kept.read_bytes()))
    assert strip.mode == "L" and strip.height <= 96 and strip.width > strip.height  # small, greyscale
    assert service.preview("vid", other.id) == kept.read_bytes()
    kept.unlink()  # made again from the video when missing
    again = service.preview("vid", other.id)
    assert again is not None and Image.open(io.BytesIO(again)).mode == "L"
    assert service.item("vid", other.id)["vpdq"] == other.vpdq
    st = service.stats("vid")
    assert (st.unique, st.known, st.unknown, st.by_kind["video"]) == (3, 1, 2, 2)


def test_grid_filters_source_size_date_and_series(service: CaseService, tmp_path: Path) -> None:
    """The filters the grid's form sends (as query parameters, through ``grid_filter``)."""
    from ohsc.cases.grid import grid_filter

    card, cloud = tmp_path / "card", tmp_path / "cloud"
    (card / "DCIM").mkdir(parents=True)
    cam = {0x010F: "Benign Cams", 0x0110: "Model 7"}
    for i, when in enumerate(["2024:05:01 10:00:00", "2024:05:01 10:05:00"]):
        (card / "DCIM" / f"{i}.jpg").write_bytes(jpeg(80 + i, exif={**cam, 0x9003: when}))
    (card / "DCIM" / "june.jpg").write_bytes(jpeg(82, exif={**cam, 0x9003: "2024:06:20 09:00:00"}))
    cloud.mkdir()
    (cloud / "tiny.jpg").write_bytes(jpeg(83, size=(64, 48)))
    service.create("filters", series_seconds=1800)
    service.ingest("filters", card, workers=0)
    service.ingest("filters", cloud, workers=0)
    sources = service.sources(service.get("filters").id)

    def ids(**params: str) -> set[int]:
        return {i.id for i in service.grid("filters", grid_filter(params), limit=500)["items"]}

    every = ids()
    assert len(every) == 4
    from_card, from_cloud = ids(source=str(sources[0]["id"])), ids(source=str(sources[1]["id"]))
    assert (len(from_card), len(from_cloud)) == (3, 1) and from_card | from_cloud == every
    tiny = service.item("filters", next(iter(from_cloud)))["size"]
    assert ids(max_size=str(tiny)) == from_cloud and ids(min_size=str(tiny + 1)) == from_card
    may = ids(**{"from": "2024-05-01", "to": "2024-05-31"})
    assert len(may) == 2 and may < from_card
    assert len(ids(**{"from": "2024-06-01"})) == 1
    in_series = ids(series="any")
    assert in_series == may  # same camera and folder, 5 minutes apart; June is too late
    one = service.item("filters", next(iter(may)))["series_id"]
    assert ids(series=str(one)) == may
    assert grid_filter({"min_size": "lots", "known": "maybe"}) == grid_filter({})  # ignored, as documented
