"""NCMEC hash-sharing XML: entries, classifications, deletion tombstones that retract, bad
entries with line numbers, idempotent re-import, hostile XML."""

from __future__ import annotations

import io

import pytest

from ohsc.banks.formats import FORMATS, get_format
from ohsc.banks.model import EntryInput, ImportReport, ReadNote, RowError
from ohsc.banks.service import BankService
from ohsc.errors import FormatError, InvalidInputError
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.format_samples import (
    NCMEC_NS,
    PHOTODNA,
    fake_md5,
    keyed,
    line_of,
    ncmec,
    ncmec_deleted,
    ncmec_image,
    pic,
)

VIDEO = """        <video>
            <member id="7">Other Member</member>
            <timestamp>2017-10-24T15:00:00Z</timestamp>
            <id>video1</id>
            <classification>B2</classification>
            <fingerprints>
                <md5>{md5}</md5>
                <tmk-pdqf rel="self" href="/v2/entries/1/fingerprints/TMK_PDQF"/>
                <videntifier rel="self" href="/v2/entries/1/fingerprints/VIDENTIFIER"/>
            </fingerprints>
        </video>
"""


@pytest.fixture
def banks(store: Store, settings: Settings) -> BankService:
    service = BankService(store, settings, actor="test")
    service.create_bank("known")
    return service


def _import(banks: BankService, data: bytes, bank: str = "known") -> ImportReport:
    return banks.import_stream(bank, io.BytesIO(data), fmt="ncmec-xml", source_name="entries.xml")


def _read(data: bytes) -> list[EntryInput | RowError | ReadNote]:
    return list(get_format("ncmec-xml").read(io.BytesIO(data)))


def test_entries_give_one_entry_per_usable_fingerprint(banks: BankService) -> None:
    doc = ncmec(
        images=ncmec_image("image1", seed=1) + ncmec_image("image2", seed=2, classification=None),
        videos=VIDEO.format(md5=fake_md5("v1")),
    )
    report = _import(banks, doc)
    assert (report.added, report.invalid) == (5, 0)
    assert any("2 PhotoDNA" in n and "1 TMK+PDQF" in n and "1 Videntifier" in n for n in report.notes)

    entries = keyed(list(banks.iter_entries("known")))
    md5 = entries[("md5", pic(1).md5)]
    assert (md5.category, md5.external_id) == ("ncmec:A1", "image1")
    assert set(md5.labels) == {"ncmec:image", "ncmec:member:42"}
    assert entries[("sha1", pic(1).sha1)].external_id == "image1"
    assert entries[("md5", pic(2).md5)].category is None
    video = entries[("md5", fake_md5("v1"))]
    assert (video.category, video.external_id) == ("ncmec:B2", "video1")
    assert set(video.labels) == {"ncmec:video", "ncmec:member:7"}


def test_a_single_entry_document_and_a_pdq_fingerprint(banks: BankService) -> None:
    doc = f"""<image xmlns="{NCMEC_NS}">
  <member id="1">M</member><id>e-9</id><classification>A2</classification>
  <fingerprints><md5>{pic(3).md5}</md5><pdq>{pic(3).pdq}</pdq></fingerprints>
</image>""".encode()
    report = _import(banks, doc)
    assert report.added == 2
    assert {(e.signal_type, e.external_id) for e in banks.iter_entries("known")} == {
        ("md5", "e-9"),
        ("pdq", "e-9"),
    }


def test_deletions_retract_every_hash_the_entry_brought(banks: BankService) -> None:
    _import(banks, ncmec(images=ncmec_image("image1", seed=1) + ncmec_image("image2", seed=2)))
    assert banks.get_bank("known").active_entries == 4

    deletions = ncmec(images=ncmec_deleted("image1") + ncmec_deleted("never-seen"))
    report = _import(banks, deletions)
    assert (report.retracted, report.unknown_withdrawals, report.added) == (2, 1, 0)
    bank = banks.get_bank("known")
    assert (bank.active_entries, bank.retracted_entries) == (2, 2)
    entries = keyed(list(banks.iter_entries("known", include_retracted=True)))
    gone = entries[("md5", pic(1).md5)]
    assert gone.retracted
    assert gone.retraction_reason == "deleted in NCMEC hash sharing at 2017-10-25T15:10:00Z"
    assert entries[("sha1", pic(1).sha1)].retracted
    assert not entries[("md5", pic(2).md5)].retracted
    assert {e.external_id for e in banks.iter_entries("known")} == {"image2"}

    # the same deletions again change nothing; nor does the original list (withdrawn stays withdrawn)
    again = _import(banks, deletions)
    assert (again.retracted, again.unchanged, again.unknown_withdrawals, again.changed) == (0, 1, 1, False)
    original = _import(banks, ncmec(images=ncmec_image("image1", seed=1)))
    assert (original.added, original.kept_retracted, original.changed) == (0, 2, False)


def test_an_entry_added_and_deleted_in_one_file_ends_retracted(banks: BankService) -> None:
    doc = ncmec(
        images=ncmec_image("image1", seed=1),
        videos=VIDEO.format(md5=fake_md5("v1")) + ncmec_deleted("video1", kind="Video"),
    )
    report = _import(banks, doc)
    assert (report.added, report.retracted) == (3, 1)
    entries = keyed(list(banks.iter_entries("known", include_retracted=True)))
    assert entries[("md5", fake_md5("v1"))].retracted
    assert not entries[("md5", pic(1).md5)].retracted


def test_reimporting_the_same_file_changes_nothing(banks: BankService) -> None:
    doc = ncmec(
        images=ncmec_image("image1", seed=1) + ncmec_image("bad", md5="zz") + ncmec_deleted("image9"),
        videos=VIDEO.format(md5=fake_md5("v1")),
    )
    first = _import(banks, doc)
    assert (first.added, first.invalid, first.unknown_withdrawals) == (3, 1, 1)
    before = [e.model_dump(mode="json") for e in banks.iter_entries("known", include_retracted=True)]
    second = _import(banks, doc)
    assert (second.added, second.updated, second.unchanged, second.invalid) == (0, 0, 3, 1)
    assert not second.changed
    assert [e.model_dump(mode="json") for e in banks.iter_entries("known", include_retracted=True)] == before


def test_bad_entries_are_reported_with_their_line_and_good_ones_load(banks: BankService) -> None:
    no_id = ncmec_image("NOID", seed=4).replace("<id>NOID</id>", "")
    no_fingerprints = "        <image><id>bare</id><member id='1'>x</member></image>\n"
    empty_md5 = ncmec_image("empty", seed=5).replace(f"<md5>{pic(5).md5}</md5>", "<md5> </md5>")
    doc = ncmec(
        images=(
            ncmec_image("ok1", seed=1)
            + no_id
            + ncmec_image("badhex", md5="12345")
            + no_fingerprints
            + empty_md5
            + ncmec_image("ok2", seed=2)
        )
    )
    report = _import(banks, doc)
    text = doc.decode()

    def start_of(marker: str) -> int:
        return line_of(doc, marker) - 3  # <image> is three lines above <id>

    errors = {(e.line, e.message) for e in report.errors}
    assert errors == {
        (line_of(doc, f"<md5>{pic(4).md5}</md5>") - 6, "<image> without an <id>"),
        (start_of("<id>badhex</id>"), "md5: expected 32 hex characters, got 5"),
        (line_of(doc, "<id>bare</id>"), "entry bare: no fingerprints"),
        (start_of("<id>empty</id>"), "entry empty: empty <md5>"),
    }
    assert "12345" in text  # the bad value is in the file, and stays out of the report:
    assert not any("12345" in message for _, message in errors)
    # ok1 and ok2 (md5 + sha1 each) and the sha1 of "empty" load
    assert report.added == 5


def test_a_truncated_file_keeps_what_came_before_the_break(banks: BankService) -> None:
    doc = ncmec(images=ncmec_image("image1", seed=1) + ncmec_image("image2", seed=2))
    cut = doc[: doc.index(b"<id>image2</id>")]
    report = _import(banks, cut)
    assert report.added == 2
    (error,) = report.errors
    assert "not well-formed XML" in error.message
    assert "reading stopped here" in error.message
    assert error.line is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"not xml at all", "not well-formed XML"),
        (b"<rss><channel/></rss>", r"not an NCMEC hash-sharing document \(its root is <rss>\)"),
        (b"<report><image><id>x</id></image></report>", "its root is <report>"),
        (b"<queryResult><images><image><id>x</id>", "not well-formed XML"),
    ],
)
def test_files_that_are_not_ncmec_raise_a_format_error(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        _read(data)


def test_an_empty_result_reads_nothing() -> None:
    assert _read(f'<queryResult xmlns="{NCMEC_NS}"><images count="0"/></queryResult>'.encode()) == []


def test_entities_are_not_expanded_and_nothing_is_fetched() -> None:
    """An external entity must not pull a local file into the bank (XXE)."""
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE queryResult [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<queryResult xmlns="{NCMEC_NS}"><images>
<image><id>&secret;</id><fingerprints><md5>{pic(1).md5}</md5></fingerprints></image>
</images></queryResult>""".encode()
    items = _read(doc)
    assert items == [RowError(4, "<image> without an <id>")]


def test_ncmec_xml_is_import_only(banks: BankService) -> None:
    assert not FORMATS["ncmec-xml"].can_write
    with pytest.raises(InvalidInputError, match="import-only"):
        banks.export("known", io.BytesIO(), "ncmec-xml")


def test_photodna_only_entries_are_a_note_not_an_error() -> None:
    doc = ncmec(images=f"<image><id>p</id><fingerprints><pdna>{PHOTODNA}</pdna></fingerprints></image>\n")
    items = _read(doc)
    assert [type(i) for i in items] == [ReadNote]
    assert "1 PhotoDNA" in str(items[0])
