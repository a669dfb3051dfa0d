"""The CLI with videos: ohsc hash, bank add, match, scan (inside archives too)."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from ohsc.cli import main
from ohsc.scanning import archives
from tests.videos import clips, write


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})


def ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_hash_prints_every_sampled_frame(cli: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "clip.mp4", clips().original)
    record = json.loads(ok(cli, "hash", "--json", str(path)))
    assert record["kind"] == "video"
    assert record["md5"]
    assert record["sha256"]
    assert record["vpdq"][0].keys() == {"frame", "timestamp", "pdq", "quality"}
    assert [f["timestamp"] for f in record["vpdq"]] == [float(i) for i in range(8)]
    assert record["video"]["codec"] == "h264"
    text = ok(cli, "hash", str(path))
    assert "vpdq   8 frames, 0:00.0-0:07.0, vpdq-" in text


def test_bank_add_and_match(cli: CliRunner, tmp_path: Path) -> None:
    ok(cli, "bank", "create", "known")
    assert "4 added" in ok(
        cli, "bank", "add", "known", str(write(tmp_path, "original.mp4", clips().original))
    )
    copy = write(tmp_path, "copy.mp4", clips().copies["trimmed"])
    text = ok(cli, "match", str(copy))
    assert "1 match(es)" in text
    assert "vpdq" in text
    assert "100% of the query, 50% of the bank video; query 0:00.0-0:03.0 = bank 0:02.0-0:05.0" in text
    result = json.loads(ok(cli, "match", "--json", str(copy)))
    [match] = result["matches"]
    assert match["video"]["query_percent"] == 100
    assert match["video"]["segments"]
    assert result["signals"]["vpdq"].startswith("vpdq-")  # shown by id, not hundreds of frames
    assert json.loads(ok(cli, "match", "--json", f"vpdq:{match['value']}"))["matched"]
    exported = ok(cli, "bank", "export", "known", "--format", "jsonl")
    assert '"signal_type": "vpdq"' in exported
    unrelated = write(tmp_path, "other.mp4", clips().unrelated[0])
    assert "no match" in ok(cli, "match", str(unrelated))


def test_scan_finds_videos_in_folders_and_archives(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cli, "bank", "create", "known")
    ok(cli, "bank", "add", "known", str(write(tmp_path, "original.mp4", clips().original)))
    folder = tmp_path / "dump"
    folder.mkdir()
    write(folder, "a.mp4", clips().copies["reencoded at a low bitrate"])
    write(folder, "b.mp4", clips().unrelated[0])
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("inside/logo.mp4", clips().copies["logo overlaid"])
    write(folder, "c.zip", zbuf.getvalue())
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as tf:
        data = clips().copies["cropped 5%"]
        info = tarfile.TarInfo("big/crop.mp4")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    write(folder, "d.tar.gz", tbuf.getvalue())
    # members above the inline limit (32 MB; 1 KB here) reach the workers through temporary files
    real = archives.ArchiveLimits.from_settings
    monkeypatch.setattr(
        archives.ArchiveLimits,
        "from_settings",
        classmethod(
            lambda cls, settings, temp_dir=None: replace(real(settings, temp_dir), inline_bytes=1024)
        ),
    )
    out = tmp_path / "records.jsonl"
    result = cli.invoke(main, ["scan", str(folder), "--json", str(out), "--workers", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    records = {r["path"]: r for r in map(json.loads, out.read_text().splitlines())}
    matched = sorted(p for p, r in records.items() if r.get("matched"))
    assert matched == ["a.mp4", "c.zip!inside/logo.mp4", "d.tar.gz!big/crop.mp4"]
    for path in matched:
        [m] = [m for m in records[path]["matches"] if m["signal_type"] == "vpdq"]
        assert m["video"]["query_percent"] >= 80
        assert records[path]["vpdq"]
        assert records[path]["kind"] == "video"
    assert not records["b.mp4"].get("matched")
    assert records["b.mp4"]["vpdq"]
    assert "3 matched" in result.stdout
    assert "video: 100% of the query" in result.stderr
