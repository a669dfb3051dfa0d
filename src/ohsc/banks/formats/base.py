"""The hash-list file format interface. Readers yield entries or row errors and never stop early
on a bad row (plus notes about the file as a whole); writers stream entries out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, ClassVar

from ohsc.banks.model import Bank, BankEntry, EntryInput, ReadNote, RowError
from ohsc.errors import FormatError

ReadItem = EntryInput | RowError | ReadNote


class HashListFormat(ABC):
    """One file format for hash lists. ``name`` is what users type after ``--format``."""

    name: ClassVar[str]
    description: ClassVar[str]
    can_write: ClassVar[bool] = True

    @abstractmethod
    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        """Yield one :class:`EntryInput` per hash (``line`` set) or a :class:`RowError`, and
        :class:`ReadNote` for things worth telling about the whole file (usually at the end).

        Raise :class:`ohsc.errors.FormatError` only when nothing at all can be read.
        """

    def write(self, entries: Iterable[BankEntry], fh: BinaryIO, bank: Bank) -> int:
        """Write entries; return how many were written. Import-only formats (``can_write = False``)
        keep this default, which refuses with a clear error."""
        raise FormatError(f"{self.name} is an import-only format: export with csv, jsonl or vics")


def clean_text(value: object, limit: int | None = None) -> str | None:
    """Strip a free-text cell; empty becomes None."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if limit is not None and len(text) > limit:
        raise ValueError(f"longer than {limit} characters")
    return text


def split_labels(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).replace("|", ";").split(";") if part.strip()]


def whole_number(value: object, what: str) -> int | None:
    """A whole number that may arrive as a JSON number, a float such as ``3.0`` or a string
    (``"3"``). ``None`` and ``""`` are None; anything else raises ValueError naming ``what``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number: Decimal | None = None
    if isinstance(value, str | float | Decimal):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        shown = repr(value[:20]) if isinstance(value, str) else json_name(value)
        raise ValueError(f"{what} must be a whole number, got {shown}")
    return int(number)


def json_name(value: object) -> str:
    """How a JSON value is called in messages (never the value itself for containers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", ""})


def flag(value: object) -> bool | None:
    """A yes/no value that may arrive as a JSON boolean, a number or a string (``"True"``,
    ``"false"``, ``"1"``). JSON null is False; None means unreadable."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


class Tally:
    """Counts of things a reader skipped, turned into notes at the end of a file."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def __bool__(self) -> bool:
        return bool(self.counts)

    def summary(self) -> str:
        """``"3 PhotoDNA, 1 NetClean"`` (most frequent first)."""
        return ", ".join(f"{n} {what}" for what, n in self.counts.most_common())
