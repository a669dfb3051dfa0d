"""Project VIC VICS JSON: both data-model shapes, hash sets and case exports, bad records,
idempotent re-import, export round trip, and streaming in bounded memory."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from ohsc.banks.formats import get_format
from ohsc.banks.model import EntryInput, ReadNote, RowError
from ohsc.banks.service import BankService
from ohsc.errors import FormatError
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.format_samples import (
    PHOTODNA,
    VICS_1_3_CASES,
    VICS_1_3_MEDIA,
    VICS_2_0_CASES,
    fake_md5,
    keyed,
    line_of,
    media,
    one_per_line,
    pic,
    vics,
)


@pytest.fixture
def banks(store: Store, settings: Settings) -> BankService:
    service = BankService(store, settings, actor="test")
    service.create_bank("known")
    return service


def _import(banks: BankService, doc: bytes | dict[str, object], bank: str = "known"):  # type: ignore[no-untyped-def]
    data = doc if isinstance(doc, bytes) else json.dumps(doc, indent=2).encode()
    return banks.import_stream(bank, io.BytesIO(data), fmt="vics", source_name="sample.json")


def _read(data: bytes) -> list[EntryInput | RowError | ReadNote]:
    return list(get_format("vics").read(io.BytesIO(data)))


# --- shapes ------------------------------------------------------------------------------------


def test_vics_2_0_hash_set_gives_one_entry_per_hash(banks: BankService) -> None:
    p1, p2, p3 = pic(1), pic(2), pic(3)
    doc = vics(
        [
            media(1, category=1, VictimIdentified="True", IsDistributed=True),
            media(
                2,
                media_id="2",
                category="2",
                AlternativeHashes=[
                    {"HashName": "PDQ", "HashValue": p2.pdq},
                    {"HashName": "PhotoDNA", "HashValue": PHOTODNA},
                ],
            ),
            media(3, category="3", PhotoDNA=PHOTODNA, OffenderIdentified="false"),
        ]
    )
    report = _import(banks, doc)
    assert report.counts() == {
        "added": 7,
        "updated": 0,
        "unchanged": 0,
        "retracted": 0,
        "kept_retracted": 0,
        "unknown_withdrawals": 0,
        "invalid": 0,
    }
    assert any("2 PhotoDNA" in note for note in report.notes)

    entries = keyed(list(banks.iter_entries("known")))
    first = entries[("md5", p1.md5)]
    assert first.external_id == "1"
    assert first.category == "vics:1"
    assert set(first.labels) == {"vics:victim-identified", "vics:distributed"}
    assert entries[("sha1", p1.sha1)].external_id == "1"
    assert entries[("pdq", p2.pdq)].category == "vics:2"
    assert entries[("pdq", p2.pdq)].external_id == "2"
    assert entries[("md5", p3.md5)].labels == ()
    assert entries[("md5", p3.md5)].source == "import"
    assert entries[("md5", p3.md5)].source_ref == "sample.json"


def test_vics_1_3_case_export_reads_the_media_of_every_case(banks: BankService) -> None:
    doc = vics(
        [
            {
                "CaseID": "c-1",
                "CaseNumber": "OP-1",
                "Media": [media(1), media(2, category=None)],
                "Media@odata.navigationLinkUrl": "/Cases(c-1)/Media",
                "TotalMediaFiles": "2",
            },
            {"CaseID": "c-2", "SourceApplicationName": "Example", "Media": [media(3, category="4")]},
            {"CaseID": "c-3", "Media": []},
        ],
        context=VICS_1_3_CASES,
        key="odata.metadata",
    )
    report = _import(banks, doc)
    assert report.added == 6
    assert report.invalid == 0
    assert report.notes == []
    entries = keyed(list(banks.iter_entries("known")))
    assert entries[("md5", pic(2).md5)].category is None
    assert entries[("sha1", pic(3).sha1)].category == "vics:4"
    assert entries[("sha1", pic(3).sha1)].external_id == "3"


def test_vics_2_0_case_export_and_1_3_hash_set(banks: BankService) -> None:
    cases = vics([{"CaseID": "x", "Media": [media(4)]}], context=VICS_2_0_CASES)
    hash_set = vics([media(5)], context=VICS_1_3_MEDIA, key="odata.metadata")
    assert _import(banks, cases).added == 2
    assert _import(banks, hash_set).added == 2
    assert {e.external_id for e in banks.iter_entries("known")} == {"4", "5"}


def test_numbers_and_booleans_that_arrive_as_strings(banks: BankService) -> None:
    doc = vics(
        [
            media(1, media_id="0001", category=" 2 ", VictimIdentified="TRUE", OffenderIdentified="1"),
            media(2, media_id=2.0, category=3.0, IsDistributed="no", VictimIdentified=0),
            media(3, category="1", VictimIdentified="maybe"),
        ]
    )
    report = _import(banks, doc)
    assert report.invalid == 0
    entries = keyed(list(banks.iter_entries("known")))
    one = entries[("md5", pic(1).md5)]
    assert (one.external_id, one.category) == ("0001", "vics:2")
    assert set(one.labels) == {"vics:victim-identified", "vics:offender-identified"}
    two = entries[("md5", pic(2).md5)]
    assert (two.external_id, two.category, two.labels) == ("2", "vics:3", ())
    assert entries[("md5", pic(3).md5)].labels == ()
    assert any("1 media record had" in note for note in report.notes)


def test_category_0_is_skipped_with_a_note(banks: BankService) -> None:
    report = _import(banks, vics([media(1, category=0), media(2, category="0"), media(3)]))
    assert report.added == 2
    assert any("2 media records of category 0 (non-pertinent) skipped" in n for n in report.notes)
    assert {e.external_id for e in banks.iter_entries("known")} == {"3"}


def test_missing_media_id_falls_back_to_the_md5(banks: BankService) -> None:
    rec = media(1)
    del rec["MediaID"]
    _import(banks, vics([rec]))
    assert {e.external_id for e in banks.iter_entries("known")} == {pic(1).md5}


def test_only_unusable_hashes_is_a_note_not_an_error() -> None:
    items = _read(
        json.dumps(
            vics(
                [
                    {
                        "MediaID": 1,
                        "Category": 1,
                        "AlternativeHashes": [{"HashName": "PhotoDNA", "HashValue": "x"}],
                    }
                ]
            )
        ).encode()
    )
    assert items == [ReadNote(items[0].message)]  # type: ignore[union-attr]
    assert "1 PhotoDNA" in str(items[0])


def test_utf8_bom_and_a_minified_file(banks: BankService) -> None:
    data = b"\xef\xbb\xbf" + json.dumps(vics([media(1), media(2)]), separators=(",", ":")).encode()
    report = _import(banks, data)
    assert report.added == 4
    assert {e.line for e in _read(data) if isinstance(e, EntryInput)} == {1}


# --- bad input ---------------------------------------------------------------------------------


def test_bad_records_are_reported_with_their_line_and_good_ones_load(banks: BankService) -> None:
    good = [media(i) for i in range(1, 4)]
    bad_hex = media(10, media_id=10)
    bad_hex["MD5"] = "not-a-hash"
    doc = vics(
        [
            good[0],
            {"MediaID": 11, "Category": "abc", "MD5": fake_md5(11)},
            good[1],
            "just a string",
            {"MediaID": 12, "Category": 1},
            bad_hex,
            {"MediaID": {"nested": 1}, "MD5": fake_md5(13)},
            {"MediaID": 14, "Category": -1, "MD5": fake_md5(14)},
            {"MediaID": 15, "MD5": 12345},
            {"MediaID": 16, "MD5": fake_md5(16), "AlternativeHashes": [{"HashName": "PDQ"}]},
            good[2],
        ]
    )
    # one record per line: value item i is on line i + 3
    report = _import(banks, one_per_line(doc))
    errors = {(e.line, e.message.split(":")[0]) for e in report.errors}
    assert errors == {
        (5, "Category must be a whole number, got 'abc'"),
        (7, "a media record must be a JSON object, got a string"),
        (8, "no MD5, SHA1 or PDQ hash in this media record"),
        (9, "md5"),  # the service's message: md5: expected 32 hex characters, got 10
        (10, "MediaID must be a number or text, got an object"),
        (11, "Category must be 0 to 9999, got -1"),
        (12, "MD5 must be text, got 12345"),
        (13, "an AlternativeHashes entry lacks HashName or HashValue"),
    }
    # good records, the SHA-1 of the record with a bad MD5 and the MD5 of record 16 load
    assert report.added == 2 * 3 + 1 + 1
    assert (("sha1", pic(10).sha1)) in keyed(list(banks.iter_entries("known")))

    # the same in an indented file: the line is where the media object starts
    text = json.dumps(doc, indent=2).encode()
    errors_indented = {(e.line, e.message) for e in _read(text) if isinstance(e, RowError)}
    assert (
        line_of(text, '"Category": "abc"') - 2,
        "Category must be a whole number, got 'abc'",
    ) in errors_indented


def test_huge_numbers_are_row_errors_not_store_failures(banks: BankService) -> None:
    huge_id = "1" + "0" * 300
    data = (
        '{"value": [\n'
        f'{{"MediaID": 1, "Category": 1e999, "MD5": "{fake_md5(1)}"}},\n'
        f'{{"MediaID": {huge_id}, "Category": 1, "MD5": "{fake_md5(2)}"}},\n'
        f'{{"MediaID": 3, "Category": 1, "MD5": "{fake_md5(3)}"}}\n'
        "]}"
    ).encode()
    report = _import(banks, data)
    assert report.added == 1
    assert [(e.line, e.message) for e in report.errors] == [
        (
            2,
            "Category must be 0 to 9999, got 1000000000000000000000"[
                : len("Category must be 0 to 9999, got ") + 20
            ],
        ),
        (3, "MediaID is longer than 200 characters"),
    ]


def test_case_media_lines_are_where_each_media_object_starts() -> None:
    doc = vics([{"CaseID": "c", "Media": [media(1), {"MediaID": 2, "Category": "x"}, media(3)]}])
    text = json.dumps(doc, indent=4).encode()
    items = _read(text)
    lines = {item.line for item in items if isinstance(item, EntryInput)}
    assert lines == {line_of(text, '"MediaID": 1,') - 1, line_of(text, '"MediaID": 3,') - 1}
    (error,) = [item for item in items if isinstance(item, RowError)]
    assert error.line == line_of(text, '"MediaID": 2,') - 1


def test_a_truncated_file_keeps_what_came_before_the_break(banks: BankService) -> None:
    data = one_per_line(vics([media(1), media(2), media(3)]))
    cut = data[: data.index(pic(3).md5.upper().encode())]
    report = _import(banks, cut)
    assert report.added == 4
    (error,) = report.errors
    assert error.line == 6
    assert "reading stopped here" in error.message
    assert pic(3).md5.upper() not in error.message  # messages carry no document content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n\n", "the file is empty"),
        (b"[1, 2]", "not a VICS document"),
        (b'{"odata.metadata": "x"}', 'no "value" list'),
        (b'{"value": {"MD5": "x"}}', '"value" must be a list'),
        (b"\xff\xfe{\x00}\x00", "UTF-16"),
        (b"<xml/>", "not valid JSON"),
        (b'{"value": [', "ends too early"),
    ],
)
def test_files_that_are_not_vics_raise_a_format_error(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        _read(data)


def test_no_context_is_read_with_a_note() -> None:
    items = _read(json.dumps(vics([media(1)], context=None)).encode())
    assert sum(isinstance(i, EntryInput) for i in items) == 2
    assert any("no odata.metadata or @odata.context" in str(i) for i in items if isinstance(i, ReadNote))


# --- re-import and round trip -------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["hash set", "case export"])
def test_reimporting_the_same_file_changes_nothing(banks: BankService, shape: str) -> None:
    records = [media(1), media(2, AlternativeHashes=[{"HashName": "PDQ", "HashValue": pic(2).pdq}])]
    records.append({"MediaID": 3, "Category": "bad", "MD5": fake_md5(3)})
    doc = vics(records) if shape == "hash set" else vics([{"CaseID": "c", "Media": records}], VICS_2_0_CASES)
    first = _import(banks, doc)
    assert (first.added, first.invalid) == (5, 1)
    before = [e.model_dump(mode="json") for e in banks.iter_entries("known", include_retracted=True)]
    second = _import(banks, doc)
    assert (second.added, second.updated, second.unchanged, second.invalid) == (0, 0, 5, 1)
    assert not second.changed
    assert [e.model_dump(mode="json") for e in banks.iter_entries("known", include_retracted=True)] == before


def test_export_then_import_gives_the_same_bank(banks: BankService) -> None:
    doc = vics(
        [
            media(1, VictimIdentified=True),
            media(2, category="2", AlternativeHashes=[{"HashName": "PDQ", "HashValue": pic(2).pdq}]),
            media(3, category=None, media_id="case-7/item-3"),
            media(6, media_id="0042"),
        ]
    )
    _import(banks, doc)
    banks.add_entries(
        "known",
        [
            EntryInput("sha256", pic(4).sha256, category="vics:1", external_id="44"),
            EntryInput("md5", pic(4).md5, category="vics:1", external_id="44"),
            EntryInput("pdq", pic(5).pdq, category="vics:3"),
        ],
    )
    banks.retract("known", f"md5:{pic(3).md5}", "withdrawn by source")

    out = io.BytesIO()
    written = banks.export("known", out, "vics")
    data = out.getvalue()
    exported = json.loads(data)
    assert exported["@odata.context"].endswith("2.0.xml/Default/$metadata#Media")
    assert written == 11  # every active entry; the retracted MD5 is left out
    assert pic(3).md5.upper() not in data.decode()
    media_ids = [m["MediaID"] for m in exported["value"]]
    assert media_ids[:2] == [1, 2]
    assert "case-7/item-3" in media_ids
    assert "0042" in media_ids

    banks.create_bank("copy")
    report = _import(banks, data, bank="copy")
    assert (report.added, report.invalid) == (11, 0)

    def view(bank: str) -> set[tuple[object, ...]]:
        return {
            (e.signal_type, e.value, e.category, e.labels, e.external_id)
            for e in banks.iter_entries(bank)
            if e.value != pic(5).pdq
        }

    assert view("copy") == view("known")
    # the PDQ without an external id comes back under a generated MediaID, with its category
    copied = keyed(list(banks.iter_entries("copy")))
    assert copied[("pdq", pic(5).pdq)].category == "vics:3"
    assert (copied[("pdq", pic(5).pdq)].external_id or "").isdigit()
    # and exporting the copy again gives the same file
    again = io.BytesIO()
    banks.export("copy", again, "vics")
    assert json.loads(again.getvalue())["value"] == exported["value"]


# --- memory ------------------------------------------------------------------------------------


def _write_hash_set(path: Path, records: int) -> None:
    with path.open("w") as fh:
        fh.write('{\n  "@odata.context": "%s",\n  "value": [\n' % VICS_1_3_MEDIA)  # noqa: UP031
        for i in range(records):
            rec = {
                "MediaID": i + 1,
                "Category": str(1 + i % 3),
                "MD5": fake_md5(i),
                "IsPrecategorized": "true",
            }
            fh.write(("    " + json.dumps(rec)) + (",\n" if i < records - 1 else "\n"))
        fh.write("  ]\n}\n")


_MEASURE = """
import json, sys
from ohsc.banks.formats import get_format
from ohsc.banks.model import EntryInput


def high_water_kib():  # this process's peak resident memory (fresh after exec, unlike ru_maxrss)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


fmt = get_format("vics")
list(fmt.read(open(sys.argv[2], "rb")))  # warm up: the parser and its imports
before = high_water_kib()
count = last_line = bad = 0
with open(sys.argv[1], "rb") as fh:
    for item in fmt.read(fh):
        if isinstance(item, EntryInput):
            count += 1
            last_line = item.line
        else:
            bad += 1
if len(sys.argv) > 3:  # the reference: the whole document in memory
    document = json.load(open(sys.argv[1], "rb"))
print(json.dumps({"count": count, "last_line": last_line, "bad": bad, "grew_kib": high_water_kib() - before}))
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads VmHWM from /proc/self/status (Linux)")
def test_a_large_export_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """200,000 media records: the reader's peak memory does not depend on the file's size."""
    path, small = tmp_path / "big.json", tmp_path / "small.json"
    _write_hash_set(path, 200_000)
    _write_hash_set(small, 10)
    size = path.stat().st_size
    assert size > 16_000_000

    def measure(*extra: str) -> dict[str, int]:
        command = [sys.executable, "-c", _MEASURE, str(path), str(small), *extra]
        measured: dict[str, int] = json.loads(
            subprocess.run(command, capture_output=True, text=True, check=True, timeout=240).stdout
        )
        return measured

    streamed = measure()
    assert (streamed["count"], streamed["bad"], streamed["last_line"]) == (200_000, 0, 200_003)
    # the stream holds one record and one 64 KiB piece at a time: the peak does not move
    assert streamed["grew_kib"] < 4 * 1024, streamed
    # while holding the document (what json.load does) costs several times the file's size
    assert measure("reference")["grew_kib"] * 1024 > size


@pytest.mark.slow
def test_import_memory_does_not_grow_with_the_file(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    service = BankService(sqlite_store, settings, actor="test")
    peaks = []
    for records in (3_000, 12_000):
        path = tmp_path / f"set-{records}.json"
        _write_hash_set(path, records)
        service.create_bank(f"b{records}")
        tracemalloc.start()
        try:
            report = service.import_file(f"b{records}", path, "vics")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert report.added == records
    # four times the file, about the same peak: entries go to the store in batches
    assert peaks[1] < peaks[0] * 1.5, peaks
