"""CSV hash lists: ``signal_type,value,category,external_id,note`` (plus optional ``labels``,
``quality`` and ``retracted``)."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from ohsc.banks.formats.base import HashListFormat, ReadItem, clean_text, split_labels
from ohsc.banks.model import Bank, BankEntry, EntryInput, RowError
from ohsc.errors import FormatError

REQUIRED = ("signal_type", "value")
COLUMNS = ("signal_type", "value", "category", "external_id", "note", "labels", "quality")
TRUE = {"1", "true", "yes", "y", "t"}


class CsvFormat(HashListFormat):
    name = "csv"
    description = "CSV with a header: signal_type,value,category,external_id,note[,labels,quality,retracted]"

    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="strict", newline="")
        try:
            yield from self._rows(text)
        finally:
            with contextlib.suppress(ValueError):  # the caller owns fh: never close it from here
                text.detach()

    def _rows(self, text: io.TextIOWrapper) -> Iterator[ReadItem]:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (UnicodeDecodeError, csv.Error) as exc:
            raise FormatError(f"not a readable CSV file: {exc}") from exc
        names = [h.strip().lower() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise FormatError(
                f"CSV header must name {', '.join(REQUIRED)} (got: {', '.join(names) or 'nothing'})"
            )
        pos = {name: i for i, name in enumerate(names)}
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                yield RowError(reader.line_num + 1, f"not UTF-8 text: {exc.reason}")
                return
            except csv.Error as exc:
                yield RowError(reader.line_num, f"malformed CSV: {exc}")
                continue
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue

            def cell(name: str, row: list[str] = row) -> str | None:
                i = pos.get(name)
                return row[i] if i is not None and i < len(row) else None

            try:
                quality_text = clean_text(cell("quality"))
                yield EntryInput(
                    signal_type=(cell("signal_type") or "").strip().lower(),
                    value=(cell("value") or "").strip(),
                    category=clean_text(cell("category"), 100),
                    labels=split_labels(cell("labels")),
                    external_id=clean_text(cell("external_id"), 200),
                    note=clean_text(cell("note"), 10_000),
                    quality=int(quality_text) if quality_text is not None else None,
                    retract=(cell("retracted") or "").strip().lower() in TRUE,
                    line=line,
                )
            except ValueError as exc:
                yield RowError(line, str(exc))

    def write(self, entries: Iterable[BankEntry], fh: BinaryIO, bank: Bank) -> int:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow([*COLUMNS, "retracted"])
        n = 0
        for e in entries:
            writer.writerow(
                [
                    e.signal_type,
                    e.value,
                    e.category or "",
                    e.external_id or "",
                    e.note or "",
                    ";".join(e.labels),
                    "" if e.quality is None else e.quality,
                    "true" if e.retracted else "",
                ]
            )
            n += 1
        text.flush()
        text.detach()
        return n


class JsonLinesFormat(HashListFormat):
    name = "jsonl"
    description = 'JSON Lines: {"signal_type", "value", "category", "labels", "external_id", "note", ...}'

    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        import json

        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (UnicodeDecodeError, ValueError) as exc:
                yield RowError(number, f"not a JSON object: {exc}")
                continue
            if not isinstance(obj, dict):
                yield RowError(number, "not a JSON object")
                continue
            try:
                quality = obj.get("quality")
                yield EntryInput(
                    signal_type=str(obj.get("signal_type") or "").strip().lower(),
                    value=str(obj.get("value") or "").strip(),
                    category=clean_text(obj.get("category"), 100),
                    labels=split_labels(obj.get("labels")),
                    external_id=clean_text(obj.get("external_id"), 200),
                    note=clean_text(obj.get("note"), 10_000),
                    quality=int(quality) if quality is not None else None,
                    retract=bool(obj.get("retracted") or obj.get("retract")),
                    retraction_reason=clean_text(obj.get("retraction_reason")),
                    line=number,
                )
            except (TypeError, ValueError) as exc:
                yield RowError(number, str(exc))

    def write(self, entries: Iterable[BankEntry], fh: BinaryIO, bank: Bank) -> int:
        import json

        n = 0
        for e in entries:
            obj: dict[str, object] = {
                "signal_type": e.signal_type,
                "value": e.value,
                "category": e.category,
                "labels": list(e.labels),
                "external_id": e.external_id,
                "note": e.note,
                "quality": e.quality,
            }
            if e.retracted:
                obj["retracted"] = True
                obj["retraction_reason"] = e.retraction_reason
            fh.write(json.dumps(obj, ensure_ascii=False).encode() + b"\n")
            n += 1
        return n


_ = RowError  # re-exported for format authors
