"""CSV and JSON Lines: withdrawals by external id, and readers that leave the caller's file open."""

from __future__ import annotations

import io
import json
import warnings

from ohsc.banks.formats import get_format
from ohsc.banks.model import EntryInput
from ohsc.banks.service import BankService
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.format_samples import pic


def test_a_row_naming_only_an_external_id_withdraws_all_its_hashes(store: Store, settings: Settings) -> None:
    banks = BankService(store, settings, actor="test")
    banks.create_bank("known")
    banks.add_entries(
        "known",
        [
            EntryInput("md5", pic(1).md5, external_id="item-1"),
            EntryInput("sha1", pic(1).sha1, external_id="item-1"),
            EntryInput("md5", pic(2).md5, external_id="item-2"),
        ],
    )
    jsonl = json.dumps(
        {"external_id": "item-1", "retracted": True, "retraction_reason": "source withdrew it"}
    )
    report = banks.import_stream(
        "known", io.BytesIO(jsonl.encode() + b"\n"), fmt="jsonl", source_name="w.jsonl"
    )
    assert (report.retracted, report.invalid) == (2, 0)
    entries = {e.value: e for e in banks.iter_entries("known", include_retracted=True)}
    assert entries[pic(1).sha1].retraction_reason == "source withdrew it"
    assert not entries[pic(2).md5].retracted

    csv = b"signal_type,value,external_id,retracted\n,,item-2,true\n,,item-9,yes\n"
    report = banks.import_stream("known", io.BytesIO(csv), fmt="csv", source_name="w.csv")
    assert (report.retracted, report.unknown_withdrawals, report.invalid) == (1, 1, 0)
    assert banks.get_bank("known").active_entries == 0


def test_the_csv_reader_leaves_the_file_to_its_owner() -> None:
    fh = io.BytesIO(f"signal_type,value\nmd5,{pic(1).md5}\n".encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        items = list(get_format("csv").read(fh))
    assert len(items) == 1
    assert not fh.closed
