"""Project VIC VICS JSON: hash sets and case exports, data models 1.x and 2.0.

What Griffeye, Magnet, NetClean, IPED and Project VIC itself exchange. Shapes read:

* 1.x: ``{"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
  "value": [MEDIA, ...]}``
* 2.0: ``{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
  "value": [MEDIA, ...]}``
* case exports (``...#Cases``, either version): ``{"value": [{"CaseID": ..., "Media": [MEDIA, ...]}]}``

A MEDIA record carries ``MediaID``, ``Category``, ``MD5``, ``SHA1`` and ``AlternativeHashes``
(``[{"HashName": "PDQ", "HashValue": ...}]``). Numbers and booleans often arrive as strings
(``"Category": "1"``, ``"VictimIdentified": "True"``). Each record gives one entry per usable hash
with ``external_id`` = its MediaID (its MD5 when it has none) and ``category`` = ``vics:<code>``.
Category 0 (non-pertinent: files known to be of no interest) is skipped with a note; so are hashes
of algorithms OHSC cannot match (PhotoDNA, ...). Free-text fields (comments, tags, series, file
names and paths) are not imported.

The file is streamed (:mod:`ohsc.banks.formats.jsonstream`): memory stays flat on exports of
many gigabytes, and a bad record is reported with the line where its object starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from ohsc.banks.formats.base import (
    HashListFormat,
    ReadItem,
    Tally,
    flag,
    json_name,
    whole_number,
)
from ohsc.banks.formats.jsonstream import Event, json_events
from ohsc.banks.model import Bank, BankEntry, EntryInput, ReadNote, RowError
from ohsc.errors import FormatError, ImportLimitError
from ohsc.store.types import ascii_int

#: Written at the top of exports: a VICS 2.0 hash set.
CONTEXT_2_0 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
#: Keys naming the data model (1.x, 2.0).
CONTEXT_KEYS = ("odata.metadata", "@odata.context")

CATEGORY_PREFIX = "vics:"
#: Project VIC's categories (US and default data models). Other codes are kept as ``vics:<code>``.
CATEGORIES = {
    0: "non-pertinent (skipped on import)",
    1: "child abuse material (CAM)",
    2: "child exploitative / age difficult",
    3: "CGI / animation",
    4: "comparison image",
}
NON_PERTINENT = 0
MAX_CATEGORY = 9999
#: MediaIDs that name no record (NIST's NSRL/CAID VICS files use 0 for every record).
PLACEHOLDER_MEDIA_IDS = frozenset({"0", ""})

#: Media fields with a yes/no value -> the label an entry gets when it is yes.
FLAGS = {
    "VictimIdentified": "vics:victim-identified",
    "OffenderIdentified": "vics:offender-identified",
    "IsDistributed": "vics:distributed",
}
_FLAG_KEYS = {k.lower(): label for k, label in FLAGS.items()}
_FLAG_FIELDS = {label: k for k, label in FLAGS.items()}

#: Hash fields of a media record (lower-cased) -> signal type.
HASH_FIELDS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}
#: ``AlternativeHashes`` names (lower-cased, punctuation dropped) -> signal type.
ALTERNATIVE_HASHES = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "pdq": "pdq"}
#: Hash fields we know but cannot use -> the name a note gives them.
UNUSABLE_FIELDS = {"photodna": "PhotoDNA"}

#: How each signal type is written: a media field, or an ``AlternativeHashes`` name.
_EXPORT_FIELDS = {"md5": "MD5", "sha1": "SHA1"}
_EXPORT_ALTERNATIVE = {"sha256": "SHA256", "pdq": "PDQ"}

_CASE_MEDIA = "value.item.Media"
_CASE_MEDIA_ITEM = "value.item.Media.item"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _media_id(value: object) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"MediaID must be a number or text, got {json_name(value)}")
    text = value if isinstance(value, str) else str(whole_number(value, "MediaID"))
    if len(text.strip()) > 200:
        raise ValueError("MediaID is longer than 200 characters")
    if text.strip() in PLACEHOLDER_MEDIA_IDS:
        return None  # NIST's NSRL/CAID sets give every record MediaID 0: it names no record
    return text.strip()


def _records(n: int) -> str:
    return f"{n} media record{'s' if n != 1 else ''}"


def _algorithm_name(name: object) -> str:
    """A name for notes: printable, short."""
    text = re.sub(r"[^\w .+-]", "", str(name)).strip()[:40]
    return text or "unnamed"


class _Reader:
    """One pass over one file (the format object itself is shared and stateless)."""

    def __init__(self) -> None:
        self.non_pertinent = 0
        self.unusable = Tally()
        self.odd_flags = 0
        self.context: str | None = None
        self.saw_value = False

    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        produced = False
        try:
            for item in self._walk(json_events(fh)):
                produced = True
                yield item
        except FormatError as exc:
            if not produced or isinstance(exc, ImportLimitError):
                raise  # past a limit: the import stops (batches committed before stay)
            line = exc.detail.get("line")
            yield RowError(line if isinstance(line, int) else None, f"{exc.message}; reading stopped here")
        yield from self._notes()

    # --- the document's structure -------------------------------------------------------------

    def _walk(self, batches: Iterator[tuple[int, list[Event]]]) -> Iterator[ReadItem]:
        import ijson

        ObjectBuilder = ijson.ObjectBuilder  # noqa: N806
        started = False
        # the value item being built (a media record or a case), and the case media record
        item: Any = None
        item_line = 0
        item_is_case = False
        held_media_key = False
        in_case_media = False
        media: Any = None
        media_line = 0
        for line, events in batches:
            for prefix, event, value in events:
                if media is not None:  # inside one media record of a case
                    media.event(event, value)
                    if prefix == _CASE_MEDIA_ITEM and event in ("end_map", "end_array"):
                        yield from self._record(media.value, media_line)
                        media = None
                    continue
                if in_case_media:
                    if prefix == _CASE_MEDIA:  # the end of the case's Media list
                        in_case_media = False
                    elif event in ("start_map", "start_array"):
                        media, media_line = ObjectBuilder(), line
                        media.event(event, value)
                    else:
                        yield from self._record(value, line)
                    continue
                if item is not None:
                    if held_media_key:  # "Media": a list here makes the item a case
                        held_media_key = False
                        if prefix == _CASE_MEDIA and event == "start_array":
                            in_case_media = item_is_case = True
                            continue
                        item.event("map_key", "Media")
                    if prefix == "value.item" and event == "map_key" and value == "Media":
                        held_media_key = True
                        continue
                    item.event(event, value)
                    if prefix == "value.item" and event in ("end_map", "end_array"):
                        if not item_is_case:
                            yield from self._record(item.value, item_line)
                        item = None
                    continue
                if not started:
                    started = True
                    if event != "start_map":
                        raise FormatError(
                            'not a VICS document: expected one JSON object with a "value" list',
                            detail={"line": line},
                        )
                if prefix == "value.item":
                    if event in ("start_map", "start_array"):
                        item, item_line, item_is_case = ObjectBuilder(), line, False
                        item.event(event, value)
                    else:
                        yield from self._record(value, line)
                elif prefix == "value":
                    if event not in ("start_array", "end_array"):
                        raise FormatError(
                            '"value" must be a list of media records or cases', detail={"line": line}
                        )
                    self.saw_value = True
                elif prefix in CONTEXT_KEYS and event == "string":
                    self.context = value
        if not self.saw_value:
            raise FormatError('no "value" list: not a VICS document')

    # --- one media record ---------------------------------------------------------------------

    def _record(self, obj: object, line: int) -> Iterator[ReadItem]:
        if not isinstance(obj, dict):
            yield RowError(line, f"a media record must be a JSON object, got {json_name(obj)}")
            return
        fields = {str(k).lower(): v for k, v in obj.items()}
        try:
            category = whole_number(fields.get("category"), "Category")
            if category is not None and not 0 <= category <= MAX_CATEGORY:
                raise ValueError(f"Category must be 0 to {MAX_CATEGORY}, got {str(category)[:20]}")
            media_id = _media_id(fields.get("mediaid"))
        except ValueError as exc:
            yield RowError(line, str(exc))
            return
        if category == NON_PERTINENT:
            self.non_pertinent += 1
            return

        hashes, problems, unusable = self._hashes(fields)
        labels = self._labels(fields)

        for problem in problems:
            yield RowError(line, problem)
        if not hashes:
            if not problems and not unusable:
                yield RowError(line, "no MD5, SHA1 or PDQ hash in this media record")
            return
        md5 = next((v for st, v in hashes if st == "md5"), None)
        external_id = media_id if media_id is not None else md5
        category_text = f"{CATEGORY_PREFIX}{category}" if category is not None else None
        # several records may share a MediaID: the record's first hash tells them apart
        first_type, first_value = next(iter(hashes))
        record = f"{first_type}:{first_value}"[:600]
        for signal_type, value in hashes:
            yield EntryInput(
                signal_type=signal_type,
                value=value,
                category=category_text,
                labels=list(labels),
                external_id=external_id,
                line=line,
                record=record,
            )

    def _hashes(self, fields: dict[str, Any]) -> tuple[dict[tuple[str, str], None], list[str], int]:
        """The record's usable hashes (an ordered set of (signal type, value)), the problems
        found, and how many hashes are of algorithms OHSC cannot use."""
        problems: list[str] = []
        unusable = 0
        hashes: dict[tuple[str, str], None] = {}  # an ordered set

        def add(field: str, signal_type: str, value: object) -> None:
            if isinstance(value, str):
                hashes[(signal_type, value.strip().lower())] = None
            else:
                problems.append(f"{field} must be text, got {json_name(value)}")

        for key, signal_type in HASH_FIELDS.items():
            if not _blank(fields.get(key)):
                add(key.upper(), signal_type, fields[key])
        for key, algorithm in UNUSABLE_FIELDS.items():
            if not _blank(fields.get(key)):
                self.unusable.add(algorithm)
                unusable += 1
        alternatives = fields.get("alternativehashes")
        if isinstance(alternatives, list):
            for alt in alternatives:
                if not isinstance(alt, dict):
                    problems.append(f"an AlternativeHashes entry must be an object, got {json_name(alt)}")
                    continue
                a = {str(k).lower(): v for k, v in alt.items()}
                name, value = a.get("hashname"), a.get("hashvalue")
                if _blank(name) or _blank(value):
                    problems.append("an AlternativeHashes entry lacks HashName or HashValue")
                    continue
                alt_type = ALTERNATIVE_HASHES.get(re.sub(r"[^a-z0-9]", "", str(name).lower()))
                if alt_type is None:
                    self.unusable.add(_algorithm_name(name))
                    unusable += 1
                    continue
                add(f"AlternativeHashes {_algorithm_name(name)}", alt_type, value)
        elif not _blank(alternatives):
            problems.append(f"AlternativeHashes must be a list, got {json_name(alternatives)}")
        return hashes, problems, unusable

    def _labels(self, fields: dict[str, Any]) -> list[str]:
        """The record's flags as labels (flags that are neither true nor false are counted)."""
        labels: list[str] = []
        odd = False
        for key, label in _FLAG_KEYS.items():
            state = flag(fields.get(key))
            if state is None:
                odd = True
            elif state:
                labels.append(label)
        self.odd_flags += odd
        return labels

    def _notes(self) -> Iterator[ReadNote]:
        if self.non_pertinent:
            yield ReadNote(
                f"{_records(self.non_pertinent)} of category 0 (non-pertinent) skipped: VICS marks "
                "them as files of no interest, so they must not make files match"
            )
        if self.unusable:
            yield ReadNote(
                f"skipped hashes of algorithms OHSC cannot match: {self.unusable.summary()} "
                "(it uses MD5, SHA-1, SHA-256 and PDQ)"
            )
        if self.odd_flags:
            yield ReadNote(
                f"{_records(self.odd_flags)} had {', '.join(FLAGS)} values that are not true or "
                "false; read as false"
            )
        if self.saw_value and self.context is None:
            yield ReadNote("no odata.metadata or @odata.context in the file; read as VICS anyway")


# --- writing ----------------------------------------------------------------------------------


def _vics_category(category: str | None) -> int | None:
    if category and category.startswith(CATEGORY_PREFIX):
        code = category[len(CATEGORY_PREFIX) :]
        return ascii_int(code)
    return None


def _record_of(entry: BankEntry) -> str | None:
    """Which record of its external id gave the entry (see ``EntryInput.record``)."""
    for rec in entry.sources:
        if rec.live and rec.external_id == entry.external_id:
            return rec.record_key
    return None


class _Media:
    """Adjacent entries of one external id and one record become one media record again (hashes
    of two records that share a MediaID are never paired)."""

    def __init__(self, entry: BankEntry) -> None:
        self.external_id = entry.external_id
        self.record_key = _record_of(entry)
        self.category = entry.category
        self.flags = frozenset(label for label in entry.labels if label in _FLAG_FIELDS)
        self.hashes: dict[str, str] = {entry.signal_type: entry.value}

    def takes(self, entry: BankEntry) -> bool:
        return (
            entry.external_id is not None
            and entry.external_id == self.external_id
            and _record_of(entry) == self.record_key
            and entry.signal_type not in self.hashes
            and entry.category == self.category
            and frozenset(label for label in entry.labels if label in _FLAG_FIELDS) == self.flags
        )

    def record(self, fallback_id: int) -> dict[str, object]:
        media_id: object = fallback_id
        if self.external_id is not None:
            as_number = str(ascii_int(self.external_id)) == self.external_id
            media_id = int(self.external_id) if as_number else self.external_id  # "0042" stays text
        out: dict[str, object] = {"MediaID": media_id, "Category": _vics_category(self.category)}
        for signal_type, field in _EXPORT_FIELDS.items():
            if signal_type in self.hashes:
                out[field] = self.hashes[signal_type].upper()
        alternatives = [
            {"HashName": name, "HashValue": self.hashes[signal_type]}
            for signal_type, name in _EXPORT_ALTERNATIVE.items()
            if signal_type in self.hashes
        ]
        if alternatives:
            out["AlternativeHashes"] = alternatives
        for label, field in _FLAG_FIELDS.items():
            out[field] = label in self.flags
        return out


class VicsFormat(HashListFormat):
    name = "vics"
    description = "Project VIC VICS JSON (1.x and 2.0 hash sets and case exports); writes a VICS 2.0 hash set"

    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        return _Reader().read(fh)

    def write(self, entries: Iterable[BankEntry], fh: BinaryIO, bank: Bank) -> int:
        """A VICS 2.0 hash set, one media record per line. Retracted entries and signal types
        VICS cannot carry are left out (VICS has no way to mark a hash as withdrawn)."""
        fh.write(f'{{\n"@odata.context": {json.dumps(CONTEXT_2_0)},\n"value": [\n'.encode())
        written = 0
        records = 0
        current: _Media | None = None

        def flush(media: _Media) -> None:
            nonlocal records
            records += 1
            text = json.dumps(media.record(records), ensure_ascii=False)
            fh.write(((",\n" if records > 1 else "") + text).encode())

        for entry in entries:
            if entry.retracted or (
                entry.signal_type not in _EXPORT_FIELDS and entry.signal_type not in _EXPORT_ALTERNATIVE
            ):
                continue
            if current is not None and current.takes(entry):
                current.hashes[entry.signal_type] = entry.value
            else:
                if current is not None:
                    flush(current)
                current = _Media(entry)
            written += 1
        if current is not None:
            flush(current)
        fh.write(b"\n]\n}\n")
        return written
