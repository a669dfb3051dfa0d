"""Signal types: what content turns into so it can be found in a bank.

``SIGNAL_TYPES`` maps each storage-key name to its class. Names never change.
"""

from __future__ import annotations

from ohsc.errors import UnknownSignalTypeError
from ohsc.signals.base import SignalType
from ohsc.signals.crypto import Md5Signal, Sha1Signal, Sha256Signal
from ohsc.signals.pdq import PdqSignal

SIGNAL_TYPES: dict[str, type[SignalType]] = {
    cls.name: cls for cls in (Md5Signal, Sha1Signal, Sha256Signal, PdqSignal)
}

#: Signal types computed for every file.
FILE_SIGNALS = ("md5", "sha1", "sha256")


def get_signal_type(name: str) -> type[SignalType]:
    try:
        return SIGNAL_TYPES[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(SIGNAL_TYPES))
        raise UnknownSignalTypeError(f"unknown signal type {name!r} (known: {known})") from None


def register_signal_type(cls: type[SignalType]) -> type[SignalType]:
    """Add a signal type (a plug-in registers its own)."""
    existing = SIGNAL_TYPES.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"signal type name {cls.name!r} is taken")
    SIGNAL_TYPES[cls.name] = cls
    return cls


def guess_signal_types(value: str) -> list[str]:
    """Which signal types a bare hex value could be (64 hex digits: sha256 or pdq)."""
    return [name for name, cls in SIGNAL_TYPES.items() if cls.guessable and cls.is_valid(value)]


def alias_signal_types(name: str) -> list[str]:
    """Other signal types whose values are the same digest as ``name``'s (md5 and video_md5)."""
    cls = SIGNAL_TYPES.get(name)
    if cls is None:
        return []
    out = [a for a in cls.aliases if a in SIGNAL_TYPES]
    out += [other.name for other in SIGNAL_TYPES.values() if name in other.aliases]
    return sorted(set(out) - {name})


# Video signal types: vPDQ and the digests of video files (ohsc.signals.vpdq).
from ohsc.signals.vpdq import VideoMd5Signal, VideoSha256Signal, VpdqSignal  # noqa: E402

for _cls in (VideoMd5Signal, VideoSha256Signal, VpdqSignal):
    register_signal_type(_cls)

__all__ = [
    "FILE_SIGNALS",
    "SIGNAL_TYPES",
    "SignalType",
    "alias_signal_types",
    "get_signal_type",
    "guess_signal_types",
    "register_signal_type",
]
