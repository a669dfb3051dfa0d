"""A case as Project VIC VICS 2.0 JSON, and VICS exports of other tools as case sources.

The export is a VICS 2.0 hash set exactly as IPED's reader (``HashDBTool.readProjectVic``)
expects it: one object whose first key is ``@odata.context`` naming the 2.0 ``Default`` data
model and whose second and last key is ``value``; media records are flat (only
``AlternativeHashes`` nests, as a list), ``Category`` is a JSON number, and ``MD5``/``SHA1`` are
text, left out rather than null. OHSC's own importer (:mod:`ohsc.banks.formats.vics`) reads it
back, PDQ included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from ohsc.banks.formats.vics import CONTEXT_2_0, VicsFormat
from ohsc.banks.model import EntryInput, RowError
from ohsc.cases.model import IngestSummary
from ohsc.cases.models import CaseItemRow, CaseLocationRow, CaseRow
from ohsc.cases.stack_sizes import add_to_stacks
from ohsc.store.db import Store

#: rows read per query while exporting
_PAGE = 1000


def export_records(store: Store, case_id: int, *, categorised_only: bool = True) -> Any:
    """Media records of the case's items (by id), a page at a time."""
    after = 0
    while True:
        with store.session() as s:
            q = select(CaseItemRow).where(CaseItemRow.case_id == case_id, CaseItemRow.id > after)
            if categorised_only:
                q = q.where(CaseItemRow.category.is_not(None))
            rows = list(s.scalars(q.order_by(CaseItemRow.id).limit(_PAGE)))
            if not rows:
                return
            for row in rows:
                yield media_record(row)
            after = rows[-1].id


def media_record(row: CaseItemRow) -> dict[str, Any]:
    record: dict[str, Any] = {"MediaID": row.id}
    if row.category is not None:
        record["Category"] = int(row.category)
    record["MD5"] = row.md5.upper()
    if row.sha1:
        record["SHA1"] = row.sha1.upper()
    alternatives = []
    if row.sha256:
        alternatives.append({"HashName": "SHA256", "HashValue": row.sha256})
    if row.pdq:
        alternatives.append({"HashName": "PDQ", "HashValue": row.pdq})
    if alternatives:
        record["AlternativeHashes"] = alternatives
    record["MediaSize"] = row.size if row.size is not None else 0
    record["IsPrecategorized"] = row.category_source in ("known", "import")
    record["VictimIdentified"] = False
    record["OffenderIdentified"] = False
    record["IsDistributed"] = False
    return record


def write_export(store: Store, case_id: int, fh: IO[bytes], *, categorised_only: bool = True) -> int:
    fh.write(f'{{"@odata.context": {json.dumps(CONTEXT_2_0)},\n"value": [\n'.encode())
    n = 0
    for record in export_records(store, case_id, categorised_only=categorised_only):
        fh.write(((",\n" if n else "") + json.dumps(record, ensure_ascii=False)).encode())
        n += 1
    fh.write(b"\n]}\n")
    return n


def ingest_vics(store: Store, case: CaseRow, source_id: int, path: Path, summary: IngestSummary) -> None:
    """Each media record with an MD5 becomes an item (or a location of one), pre-categorised
    with its VICS category (category 0 records are skipped by the reader, as in banks)."""
    records: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    with path.open("rb") as fh:
        for read in VicsFormat().read(fh):
            if isinstance(read, RowError):
                summary.errors += 1
                continue
            if not isinstance(read, EntryInput):
                summary.notes.append(str(getattr(read, "message", read)))
                continue
            key = read.external_id or f"line {read.line}"
            if key not in records:
                records[key] = {}
                order.append(key)
            records[key][read.signal_type] = read.value
            if read.category:
                records[key]["category"] = read.category.removeprefix("vics:")
    with store.session() as s:
        for key in order:
            rec = records[key]
            md5 = rec.get("md5")
            if md5 is None:
                summary.errors += 1
                continue
            path_in = f"MediaID {key}"
            exists = s.scalar(
                select(CaseLocationRow.id).where(
                    CaseLocationRow.source_id == source_id, CaseLocationRow.path == path_in
                )
            )
            if exists is not None:
                summary.resumed_skipped += 1
                continue
            summary.files += 1
            item = s.scalar(select(CaseItemRow).where(CaseItemRow.case_id == case.id, CaseItemRow.md5 == md5))
            if item is None:
                code = rec.get("category")
                item = CaseItemRow(
                    case_id=case.id,
                    md5=md5,
                    sha1=rec.get("sha1"),
                    sha256=rec.get("sha256"),
                    pdq=rec.get("pdq"),
                    media_kind="vics",
                    known=True,
                    known_bank=f"vics:{path.name}"[:200],
                    known_category=code,
                    category=code,
                    category_source="import" if code is not None else None,
                    disputed=False,
                    exif={},
                    locations=0,
                )
                s.add(item)
                s.flush()
                item.stack_id = item.id
                add_to_stacks(s, case.id, [item.id])
                summary.new_items += 1
                summary.known += 1
            else:
                summary.duplicates += 1
            item.locations += 1
            s.add(
                CaseLocationRow(item_id=item.id, source_id=source_id, path=path_in, folder="", deleted=False)
            )
