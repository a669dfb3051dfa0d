"""What every hash-list format promises: damaged input never crashes a reader (it raises
FormatError or reports rows), and every writable format reads back what it wrote."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ohsc.banks.formats import FORMATS, get_format
from ohsc.banks.model import EntryInput, ReadNote, RowError
from ohsc.banks.service import BankService
from ohsc.errors import FormatError
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.format_samples import fake_md5, media, ncmec, ncmec_deleted, ncmec_image, pic, vics

SAMPLES: dict[str, bytes] = {
    "vpdq-txt": ("0,100," + "ab" * 32 + ",0.000\n30,99," + "cd" * 32 + ",1.000\n").encode(),
    "csv": (
        "signal_type,value,category,external_id,note\n"
        f"md5,{pic(1).md5},cat,e1,a note\n"
        f"pdq,{pic(1).pdq},cat,e1,\n"
        "sha1,nothex,,,\n"
    ).encode(),
    "jsonl": (
        json.dumps({"signal_type": "md5", "value": pic(2).md5, "labels": ["x"]})
        + "\n{broken\n"
        + json.dumps({"signal_type": "sha1", "value": pic(2).sha1, "retracted": True})
        + "\n"
    ).encode(),
    "vics": json.dumps(
        vics([media(1), {"CaseID": "c", "Media": [media(2), {"MediaID": "x", "Category": "?"}]}, media(3)]),
        indent=1,
    ).encode(),
    "ncmec-xml": ncmec(images=ncmec_image("i1", seed=1) + ncmec_deleted("i0"), videos=""),
}


def test_every_format_has_a_sample() -> None:
    assert set(SAMPLES) == set(FORMATS)


def _drain(fmt: str, data: bytes) -> list[object]:
    try:
        items = list(get_format(fmt).read(io.BytesIO(data)))
    except FormatError:
        return []
    assert all(isinstance(i, EntryInput | RowError | ReadNote) for i in items)
    return list(items)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_samples_read(fmt: str) -> None:
    items = _drain(fmt, SAMPLES[fmt])
    assert any(isinstance(i, EntryInput) for i in items)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_files_never_crash_a_reader(fmt: str, data: st.DataObject) -> None:
    sample = SAMPLES[fmt]
    cut = data.draw(st.integers(0, len(sample)), label="cut")
    junk = data.draw(st.binary(max_size=12), label="junk")
    keep = data.draw(st.integers(0, len(sample)), label="keep")
    _drain(fmt, sample[:cut] + junk + sample[cut:keep])


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@settings(max_examples=40, deadline=None)
@given(blob=st.binary(max_size=300))
def test_random_bytes_never_crash_a_reader(fmt: str, blob: bytes) -> None:
    _drain(fmt, blob)


@pytest.mark.parametrize("fmt", sorted(name for name, f in FORMATS.items() if f.can_write))
def test_writable_formats_read_back_what_they_wrote(store: Store, settings: Settings, fmt: str) -> None:
    banks = BankService(store, settings, actor="test")
    banks.create_bank("source")
    banks.add_entries(
        "source",
        [
            EntryInput("md5", pic(1).md5, category="vics:1", external_id="1"),
            EntryInput("sha1", pic(1).sha1, category="vics:1", external_id="1"),
            EntryInput("sha256", pic(2).sha256, category="vics:2", external_id="2"),
            EntryInput("pdq", pic(2).pdq, category="vics:2", external_id="2", quality=100),
            EntryInput("md5", fake_md5(9), category="other", labels=["a", "b"]),
        ],
    )
    out = io.BytesIO()
    assert banks.export("source", out, fmt) == 5

    banks.create_bank("copy")
    first = banks.import_stream("copy", io.BytesIO(out.getvalue()), fmt=fmt, source_name=f"x.{fmt}")
    assert (first.added, first.invalid) == (5, 0)
    again = banks.import_stream("copy", io.BytesIO(out.getvalue()), fmt=fmt, source_name=f"x.{fmt}")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)

    def hashes(bank: str) -> set[tuple[str, str]]:
        return {(e.signal_type, e.value) for e in banks.iter_entries(bank)}

    assert hashes("copy") == hashes("source")
