"""The hash-list file format interface. Readers yield entries or row errors and never stop early
on a bad row; writers stream entries out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import BinaryIO, ClassVar

from ohsc.banks.model import Bank, BankEntry, EntryInput, RowError

ReadItem = EntryInput | RowError


class HashListFormat(ABC):
    """One file format for hash lists. ``name`` is what users type after ``--format``."""

    name: ClassVar[str]
    description: ClassVar[str]
    can_write: ClassVar[bool] = True

    @abstractmethod
    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        """Yield one :class:`EntryInput` per hash (``line`` set) or a :class:`RowError`.

        Raise :class:`ohsc.errors.FormatError` only when nothing at all can be read.
        """

    def write(self, entries: Iterable[BankEntry], fh: BinaryIO, bank: Bank) -> int:
        """Write entries; return how many were written."""
        raise NotImplementedError(f"{self.name} is an import-only format")


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
