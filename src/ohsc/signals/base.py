"""The signal-type base classes.

A *signal* is something computed from content that can be looked up in a bank: a cryptographic
digest, a perceptual hash. Each signal type has a ``name`` that is used as a storage key in the
database, in index files and in exported lists: **names never change**.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import ClassVar

from ohsc.errors import InvalidSignalError


class SignalType(ABC):
    """One kind of signal: how to validate, normalise and compare its values."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: True when values are compared by a distance with a threshold (PDQ), False for exact digests.
    is_distance: ClassVar[bool] = False
    #: Largest meaningful distance (bits for PDQ); 0 for exact signals.
    max_distance: ClassVar[int] = 0

    @classmethod
    @abstractmethod
    def validate(cls, value: str) -> str:
        """Return the normalised value or raise :class:`InvalidSignalError` with a clear reason."""

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """0 when equal; exact types return 1 for any difference."""
        return 0 if cls.validate(a) == cls.validate(b) else 1

    @classmethod
    def is_valid(cls, value: str) -> bool:
        try:
            cls.validate(value)
        except InvalidSignalError:
            return False
        return True


_HEX = re.compile(r"^[0-9a-f]+$")


class HexDigestSignal(SignalType):
    """A fixed-length hex digest (lowercase on output; upper case and surrounding spaces accepted)."""

    hex_length: ClassVar[int]

    @classmethod
    def validate(cls, value: str) -> str:
        if not isinstance(value, str):
            raise InvalidSignalError(f"{cls.name}: expected a string, got {type(value).__name__}")
        norm = value.strip().lower()
        if len(norm) != cls.hex_length:
            raise InvalidSignalError(
                f"{cls.name}: expected {cls.hex_length} hex characters, got {len(norm)}",
                detail={"signal_type": cls.name},
            )
        if not _HEX.match(norm):
            raise InvalidSignalError(
                f"{cls.name}: not a hexadecimal string", detail={"signal_type": cls.name}
            )
        return norm

    @classmethod
    def to_bytes(cls, value: str) -> bytes:
        return bytes.fromhex(cls.validate(value))
