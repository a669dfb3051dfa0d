"""vPDQ in banks: added from files, imported and exported (JSONL, CSV, Meta's .txt), referenced
by id, frames shared and purged."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ohsc.banks.model import EntryInput
from ohsc.banks.service import BankService
from ohsc.settings import Settings
from ohsc.signals.vpdq_frames import format_vpdq, is_vpdq_id, parse_vpdq, vpdq_id
from ohsc.signals.vpdq_store import VpdqFramesRow, load_frames
from ohsc.store.db import Store
from tests.videos import REFERENCE, clips, write


@pytest.fixture
def banks(store: Store, settings: Settings) -> BankService:
    return BankService(store, settings)


def _frames_rows(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(VpdqFramesRow)) or 0)


def test_bank_add_hashes_videos_with_every_frame_decoded(
    banks: BankService, store: Store, tmp_path: Path
) -> None:
    banks.create_bank("known")
    report, failed = banks.add_files("known", [write(tmp_path, "a.mp4", clips().original)], category="cat-a")
    assert not failed
    assert report.added == 4
    assert not report.notes
    entries = {e.signal_type: e for e in banks.iter_entries("known")}
    assert set(entries) == {"md5", "sha1", "sha256", "vpdq"}
    video = entries["vpdq"]
    assert is_vpdq_id(video.value)
    assert video.category == "cat-a"
    assert video.quality is not None
    with store.session() as s:
        frames = load_frames(s, [video.value])[video.value]
    assert len(frames) == 8
    assert frames.has_variants
    again, _ = banks.add_files("known", [write(tmp_path, "b.mp4", clips().original)])
    assert again.unchanged == 4
    assert _frames_rows(store) == 1
    banks.create_bank("second")
    banks.add_files("second", [write(tmp_path, "c.mp4", clips().original)])
    assert _frames_rows(store) == 1  # frames are shared by entries with the same vPDQ
    assert len(banks.retract("second", f"vpdq:{video.value}", "withdrawn")) == 1


def test_a_blank_video_adds_only_digests(banks: BankService, tmp_path: Path) -> None:
    from PIL import Image

    from ohsc.video.synth import Encoding, encode

    buf = io.BytesIO()
    encode([Image.new("RGB", (64, 48), (20, 20, 20))] * 20, buf, Encoding(fps=10))
    banks.create_bank("known")
    report, _ = banks.add_files("known", [write(tmp_path, "blank.mp4", buf.getvalue())])
    assert report.added == 3
    assert "no video frame reaches PDQ quality 50" in report.notes[0]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_and_import_round_trip(banks: BankService, store: Store, tmp_path: Path, fmt: str) -> None:
    banks.create_bank("a")
    banks.add_files("a", [write(tmp_path, "a.mp4", clips().original)], labels=["l1"])
    ref = next(e.value for e in banks.iter_entries("a") if e.signal_type == "vpdq")
    buf = io.BytesIO()
    assert banks.export("a", buf, fmt) == 4
    text = buf.getvalue().decode()
    assert ref not in text  # exports carry the frames themselves ...
    value = (
        next(json.loads(line)["value"] for line in text.splitlines() if '"vpdq"' in line)
        if fmt == "jsonl"
        else next(line for line in text.splitlines() if line.startswith("vpdq,"))
    )
    assert "|" not in value  # ... as plain vPDQ, without OHSC's variants
    report = banks.import_stream("a", io.BytesIO(buf.getvalue()), fmt=fmt, source_name=f"a.{fmt}")
    assert report.unchanged == 4
    assert report.added == 0
    banks.create_bank("b")
    report = banks.import_stream("b", io.BytesIO(buf.getvalue()), fmt=fmt, source_name=f"a.{fmt}")
    assert report.added == 4
    assert not report.errors
    assert {e.value for e in banks.iter_entries("b") if e.signal_type == "vpdq"} == {ref}


def test_ids_need_frames_and_bad_values_are_row_errors(banks: BankService) -> None:
    banks.create_bank("a")
    unknown = "vpdq-" + "0" * 64
    report = banks.add_entries(
        "a",
        [
            EntryInput("vpdq", unknown, line=1),
            EntryInput("vpdq", "0,100,nothex,0.0", line=2),
            EntryInput("md5", "d41d8cd98f00b204e9800998ecf8427e", line=3),
        ],
    )
    assert report.added == 1
    assert [str(e) for e in report.errors] == [
        "line 2: vpdq: each frame needs a 64-hex-digit PDQ hash",
        f"line 1: vpdq: this store has no frames for {unknown}: give the frames, not only their id",
    ]


def test_threatexchange_strings_import(banks: BankService) -> None:
    frames = parse_vpdq("0,100," + "ab" * 32 + ",0.000;30,100," + "cd" * 32 + ",1.000")
    te = json.dumps([f"{f.pdq},{f.quality},{f.timestamp}" for f in frames])
    banks.create_bank("a")
    line = json.dumps({"signal_type": "vpdq", "value": te, "external_id": "te-1"})
    report = banks.import_stream("a", io.BytesIO(line.encode() + b"\n"), fmt="jsonl", source_name="te.jsonl")
    assert report.added == 1
    assert next(iter(banks.iter_entries("a"))).value == vpdq_id(frames)


def test_meta_vpdq_txt_files_import(banks: BankService, tmp_path: Path) -> None:
    reference = REFERENCE / "hashes" / "chair-19-sd-bar.txt"
    if reference.exists():
        text = reference.read_text()
    else:  # a fresh clone: a file in the same format
        text = "\n".join(f"{i},100,{format(i, '064x')},{i / 30:.3f}" for i in range(30))
    path = write(tmp_path, "video.txt", text.encode())
    banks.create_bank("a")
    report = banks.import_file("a", path, "vpdq-txt")
    assert report.added == 1
    assert not report.errors
    [entry] = banks.iter_entries("a")
    assert entry.value == vpdq_id(parse_vpdq(text))
    bad = write(tmp_path, "notes.txt", b"hello\n")
    assert banks.import_file("a", bad, "vpdq-txt").errors[0].message.startswith("not a vPDQ hash file")
    assert format_vpdq(parse_vpdq(text), "\n").splitlines()[0] == text.splitlines()[0]


def test_withdrawals_name_videos_by_frames_without_storing_any(banks: BankService, store: Store) -> None:
    frames = "0,100," + "ab" * 32 + ",0.000;30,100," + "cd" * 32 + ",1.000"
    other = "0,100," + "ef" * 32 + ",0.000"
    banks.create_bank("a")
    assert banks.add_entries("a", [EntryInput("vpdq", frames)]).added == 1
    report = banks.add_entries(
        "a",
        [
            EntryInput("vpdq", frames, retract=True, retraction_reason="withdrawn"),
            EntryInput("vpdq", other, retract=True),
        ],
    )
    assert (report.retracted, report.unknown_withdrawals) == (1, 1)
    assert _frames_rows(store) == 1  # the unknown video's frames were not kept
    [entry] = banks.iter_entries("a", include_retracted=True)
    assert entry.retracted
    assert entry.retraction_reason == "withdrawn"
