"""Case ingest applies a batch of hashed files in a handful of statements, never one per file
(the per-file ORM flushes cost ingest a tenth of the scan's rate), with the same outcome: exact
duplicates within and across batches fold into one item with its location count, near-duplicates
stack, a batch applied again adds nothing."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from ohsc.cases.ingest import Applier, FileTimes, journal_errors, read_journal
from ohsc.cases.models import CaseItemRow, CaseLocationRow
from ohsc.cases.series import regroup
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.case_sources import case_with_source


def _pdq(n: int, flip: int = 0) -> str:
    code = bytearray(random.Random(n).randbytes(32))  # unrelated codes: about 128 bits apart
    for bit in range(flip):
        code[bit] ^= 1
    return code.hex()


def _record(i: int, md5: int | None = None, near: int | None = None) -> dict[str, Any]:
    digest = f"{md5 if md5 is not None else i:032x}"
    return {
        "path": f"d/p{i:04d}.jpg",
        "size": 1000 + i,
        "md5": digest,
        "sha1": digest + "00000000",
        "kind": "image",
        "format": "jpeg",
        "pdq": _pdq(near if near is not None else i, 3 if near is not None else 0),
        "pdq_quality": 100,
        "extra": {"exif": {"Make": "Bench", "Model": "M1", "DateTimeOriginal": "2024:01:01 10:00:00"}},
    }


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def test_a_batch_is_a_handful_of_statements_with_the_same_outcome(store: Store, settings: Settings) -> None:
    case, source_id = case_with_source(store, settings, "batch")
    applier = Applier(store, settings, case, source_id, Path("/seized"))
    first = [_record(i) for i in range(200)]
    first += [_record(200 + i, md5=i) for i in range(20)]  # exact copies within the batch
    first += [_record(300 + i, near=i) for i in range(30)]  # near-duplicates
    second = [_record(400 + i, md5=50 + i) for i in range(10)]  # copies of the first batch's items
    second += [_record(500 + i) for i in range(40)]

    def times(_r: dict[str, Any]) -> FileTimes:
        return FileTimes()

    with _statements(store) as statements:
        counts = applier.apply(first, times)
    writes = [s for s in statements if s in ("INSERT", "UPDATE")]
    assert len(statements) <= 12, statements  # was about three per file: 750 for this batch
    assert len(writes) <= 6, writes
    assert counts == {"new": 230, "duplicates": 20, "known": 0, "errors": 0, "files": 250}
    assert applier.apply(second, times)["duplicates"] == 10
    assert applier.apply(first, times)["files"] == 0  # applied again: nothing added
    with store.session() as s:
        items = {r.md5: r for r in s.scalars(select(CaseItemRow).where(CaseItemRow.case_id == case.id))}
        assert len(items) == 270
        assert sum(r.locations for r in items.values()) == 300
        assert s.scalar(select(func.count()).select_from(CaseLocationRow)) == 300
        assert items[f"{0:032x}"].locations == 2 and items[f"{50:032x}"].locations == 2
        for i in range(30):  # each near-duplicate joined its original's stack
            assert items[f"{300 + i:032x}"].stack_id == items[f"{i:032x}"].id
        assert all(r.stack_id == r.id for m, r in items.items() if int(m, 16) < 300)
        assert items[f"{0:032x}"].camera == "Bench M1" and items[f"{0:032x}"].exif["Model"] == "M1"


def test_series_regrouping_is_a_few_statements_whatever_the_number_of_series(
    store: Store, settings: Settings
) -> None:
    case, source_id = case_with_source(store, settings, "series")
    applier = Applier(store, settings, case, source_id, Path("/seized"))
    records = []
    for g in range(40):  # 40 series: two pictures a minute apart, and a copy of one elsewhere
        for k in range(2):
            record = _record(10 * g + k)
            record["path"] = f"f{g:02d}/p{k}.jpg"
            record["extra"]["exif"]["DateTimeOriginal"] = f"2024:01:{1 + g % 28:02d} {g % 24:02d}:0{k}:00"
            records.append(record)
        near = _record(10 * g + 5, near=10 * g)
        near["path"], near["extra"] = f"elsewhere/n{g:02d}.jpg", {}
        records.append(near)
    applier.apply(records, lambda _r: FileTimes())
    with _statements(store) as statements, store.session() as s:
        assert regroup(s, case.id, 3600) == 40
    assert len(statements) <= 6, statements  # was one UPDATE per stack in a series: 81
    with store.session() as s:
        series = {r.md5: r.series_id for r in s.scalars(select(CaseItemRow))}
        ids = {r.md5: r.id for r in s.scalars(select(CaseItemRow))}
    for g in range(40):
        first = f"{10 * g:032x}"
        assert series[first] == ids[first]
        assert series[f"{10 * g + 1:032x}"] == ids[first]
        assert series[f"{10 * g + 5:032x}"] == ids[first]  # in the stack of a series member


def test_the_journal_is_read_a_line_at_a_time_and_a_torn_line_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "source-1.jsonl"
    with path.open("w") as fh:
        for i in range(20_000):
            error = ',"error":"unreadable"' if i % 1000 == 0 else ""
            fh.write(f'{{"path":"folder/sub/picture-{i:06d}.jpg","md5":"{i:032x}"{error}}}\n')
        fh.write('{"path":"folder/torn')  # killed mid-write
    tracemalloc.start()
    try:
        assert journal_errors(path) == 20
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 512 * 1024, peak  # was a set of every path first: about 2.5 MB here
    assert path.read_bytes().endswith(b"}\n")
    assert sum(1 for _r in read_journal(path)) == 20_000
