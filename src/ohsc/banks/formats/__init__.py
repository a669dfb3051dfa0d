"""Hash-list file formats. ``FORMATS`` maps ``--format`` names to instances."""

from __future__ import annotations

from ohsc.banks.formats.base import HashListFormat
from ohsc.banks.formats.delimited import CsvFormat, JsonLinesFormat
from ohsc.banks.formats.ncmec import NcmecXmlFormat
from ohsc.banks.formats.vics import VicsFormat
from ohsc.errors import InvalidInputError

FORMATS: dict[str, HashListFormat] = {
    f.name: f for f in (CsvFormat(), JsonLinesFormat(), VicsFormat(), NcmecXmlFormat())
}


def register_format(fmt: HashListFormat) -> None:
    FORMATS[fmt.name] = fmt


def get_format(name: str) -> HashListFormat:
    try:
        return FORMATS[name.lower()]
    except KeyError:
        raise InvalidInputError(f"unknown format {name!r} (known: {', '.join(sorted(FORMATS))})") from None


#: file name endings and the format each implies (``ohsc bank import`` and the web's import form)
EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "vics",
    ".xml": "ncmec-xml",
    ".txt": "vpdq-txt",  # Meta's vPDQ hash file (one video)
}


def format_for(file_name: str, given: str | None = None) -> str:
    """The format named (``given``), else the one the file name's ending implies."""
    if given:
        return get_format(given).name
    dot = file_name.rfind(".")
    fmt = EXTENSIONS.get(file_name[dot:].lower()) if dot >= 0 else None
    if fmt is None or fmt not in FORMATS:
        raise InvalidInputError(
            f"cannot tell the format of {file_name}: give the format ({', '.join(sorted(FORMATS))})"
        )
    return fmt


def download_type(name: str) -> tuple[str, str]:
    """(media type, file extension) of an export in format ``name``."""
    media = {"csv": "text/csv", "jsonl": "application/x-ndjson"}.get(name, "application/octet-stream")
    return media, {"jsonl": "jsonl", "csv": "csv", "vics": "json"}.get(name, "txt")


# Meta's vPDQ hash files (one line per frame).
from ohsc.banks.formats.vpdq_txt import VpdqTxtFormat  # noqa: E402

register_format(VpdqTxtFormat())

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "HashListFormat",
    "download_type",
    "format_for",
    "get_format",
    "register_format",
]
