"""``ohsc bank import`` / ``ohsc bank export`` with every file format, through click."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ohsc.cli import main
from tests.format_samples import fake_md5, media, ncmec, ncmec_deleted, ncmec_image, pic, vics


@pytest.fixture
def ohsc() -> object:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    assert run("bank", "create", "known").exit_code == 0
    return run


def test_import_infers_vics_from_json_and_reports(ohsc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "set.json"
    records = [media(1, VictimIdentified="true"), media(2, category=0), {"MediaID": 3, "Category": "x"}]
    path.write_text(json.dumps(vics(records), indent=2))
    result = ohsc("bank", "import", "known", str(path))
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    assert "1 invalid" in result.output
    assert "category 0 (non-pertinent)" in result.output
    assert "Category must be a whole number" in result.output

    again = ohsc("bank", "import", "known", str(path), "--json")
    report = json.loads(again.stdout.splitlines()[0])
    assert (report["added"], report["unchanged"], report["invalid"]) == (0, 2, 1)
    assert report["errors"][0]["line"] > 1
    assert any("non-pertinent" in note for note in report["notes"])


def test_import_infers_ncmec_from_xml_and_deletions_show_as_retracted(ohsc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    first.write_bytes(ncmec(images=ncmec_image("image1", seed=1) + ncmec_image("image2", seed=2)))
    second.write_bytes(ncmec(images=ncmec_deleted("image1")))
    assert "4 added" in ohsc("bank", "import", "known", str(first)).output
    assert "2 retracted" in ohsc("bank", "import", "known", str(second)).output

    shown = json.loads(ohsc("bank", "show", "known", "--json").stdout)
    assert (shown["active_entries"], shown["retracted_entries"]) == (2, 2)
    retracted = {(e["signal_type"], e["value"]) for e in shown["entries"] if e["retracted"]}
    assert retracted == {("md5", pic(1).md5), ("sha1", pic(1).sha1)}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "vics"])
def test_export_to_a_file_and_import_it_elsewhere(ohsc, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "set.json"
    source.write_text(json.dumps(vics([media(1), media(2, category="2"), media(3, category=None)])))
    assert ohsc("bank", "import", "known", str(source)).exit_code == 0

    out = tmp_path / f"known.{fmt}"
    result = ohsc("bank", "export", "known", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "exported 6 entries" in result.output
    assert out.exists()
    assert not list(tmp_path.glob(".*.partial"))

    assert ohsc("bank", "create", "copy").exit_code == 0
    imported = ohsc("bank", "import", "copy", str(out), "--format", fmt, "--json")
    report = json.loads(imported.stdout.splitlines()[0])
    assert (report["added"], report["invalid"]) == (6, 0)

    def entries(bank: str) -> set[tuple[str, str, str | None, str | None]]:
        shown = json.loads(ohsc("bank", "show", bank, "--json", "--entries", "100").stdout)
        return {(e["signal_type"], e["value"], e["category"], e["external_id"]) for e in shown["entries"]}

    assert entries("copy") == entries("known")


def test_export_vics_to_stdout(ohsc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "set.json"
    source.write_text(json.dumps(vics([media(1)])))
    ohsc("bank", "import", "known", str(source))
    result = ohsc("bank", "export", "known", "--format", "vics")
    document = json.loads(result.stdout)
    assert document["value"] == [
        {
            "MediaID": 1,
            "Category": 1,
            "MD5": pic(1).md5.upper(),
            "SHA1": pic(1).sha1.upper(),
            "VictimIdentified": False,
            "OffenderIdentified": False,
            "IsDistributed": False,
        }
    ]


def test_ncmec_xml_cannot_be_an_export_format(ohsc) -> None:  # type: ignore[no-untyped-def]
    result = ohsc("bank", "export", "known", "--format", "ncmec-xml")
    assert result.exit_code == 2
    assert "ncmec-xml" in result.output


def test_a_file_that_is_not_in_its_format_is_an_error(ohsc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "list.json"
    path.write_text('{"rows": []}')
    result = ohsc("bank", "import", "known", str(path))
    assert result.exit_code == 2
    assert 'no "value" list: not a VICS document' in result.output

    xml = tmp_path / "list.xml"
    xml.write_text("<rss/>")
    result = ohsc("bank", "import", "known", str(xml))
    assert result.exit_code == 2
    assert "not an NCMEC hash-sharing document" in result.output

    # the explicit --format wins over the extension
    jsonl = tmp_path / "list.json"
    jsonl.write_text(json.dumps({"signal_type": "md5", "value": fake_md5(1)}) + "\n")
    assert "1 added" in ohsc("bank", "import", "known", str(jsonl), "--format", "jsonl").output
