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


# Meta's vPDQ hash files (one line per frame).
from ohsc.banks.formats.vpdq_txt import VpdqTxtFormat  # noqa: E402

register_format(VpdqTxtFormat())

__all__ = ["FORMATS", "HashListFormat", "get_format", "register_format"]
