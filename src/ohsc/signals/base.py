"""The signal-type base classes.

A *signal* is something computed from content that can be looked up in a bank: a cryptographic
digest, a perceptual hash. Each signal type has a ``name`` that is used as a storage key in the
database, in index files and in exported lists: **names never change**.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from ohsc.errors import InvalidSignalError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class SignalType(ABC):
    """One kind of signal: how to validate, normalise and compare its values."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: True when values are compared by a distance with a threshold (PDQ), False for exact digests.
    is_distance: ClassVar[bool] = False
    #: Largest meaningful distance (bits for PDQ); 0 for exact signals.
    max_distance: ClassVar[int] = 0
    #: Offered by :func:`ohsc.signals.guess_signal_types` for a bare value.
    guessable: ClassVar[bool] = True
    #: Signal types whose values are the same digest of the same bytes (``video_md5`` is ``md5``
    #: of a video file): the matcher looks a value up under each of them.
    aliases: ClassVar[tuple[str, ...]] = ()
    #: Values too large for a bank row (vPDQ: a video's frames). The row keeps a short reference
    #: (:meth:`store_payload`); the payload lives in the signal type's own table.
    has_payload: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def validate(cls, value: str) -> str:
        """Return the normalised value or raise :class:`InvalidSignalError` with a clear reason."""

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """0 when equal; exact types return 1 for any difference."""
        return 0 if cls.validate(a) == cls.validate(b) else 1

    @classmethod
    def reference(cls, value: str) -> str:
        """What a bank row stores for a validated value (without storing any payload)."""
        return value

    @classmethod
    def store_payload(cls, session: Session, value: str) -> str:
        """Keep a validated value's payload; return what the bank row stores (a reference)."""
        return value

    @classmethod
    def load_payloads(cls, session: Session, refs: Sequence[str]) -> dict[str, str]:
        """Full values for stored references (export writes these)."""
        return {ref: ref for ref in refs}

    @classmethod
    def purge_payloads(cls, session: Session) -> int:
        """Drop payloads that no bank row refers to any more; returns how many went."""
        return 0

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
