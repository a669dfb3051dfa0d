"""Answers in the shapes of Meta's Hasher-Matcher-Actioner (HMA), so a client written for HMA's
``/m/lookup``, ``/h/hash`` and ``/c/banks`` can point at OHSC unchanged (with an API key).

* lookup: ``{"BANK": [{"bank_content_id": ENTRY_ID, "distance": "N"}], ...}`` (``{}`` without
  a match); HMA's ``video_md5`` is OHSC's ``md5``;
* hash: ``{"pdq": HEX}`` for a photo, ``{"video_md5": HEX}`` for a video;
* banks: ``[{"name": NAME, "matching_enabled_ratio": 1.0 or 0.0}]``.
"""

from __future__ import annotations

from typing import Any

from ohsc.banks.service import BankService
from ohsc.errors import InvalidInputError
from ohsc.matching.matcher import Matcher
from ohsc.signals import get_signal_type

#: HMA signal type names -> OHSC's
SIGNAL_TYPES = {"pdq": "pdq", "video_md5": "md5", "md5": "md5"}
#: HMA content types (the multipart field name of /h/hash) -> the signals HMA answers
CONTENT_TYPES = {"photo": ("pdq",), "video": ("video_md5",)}


def lookup(matcher: Matcher, signal_type: str, signal: str, banks: set[str] | None = None) -> dict[str, Any]:
    """HMA's ``GET /m/lookup?signal_type=&signal=`` answer."""
    ours = SIGNAL_TYPES.get(signal_type)
    if ours is None:
        raise InvalidInputError(f"No such SignalType '{signal_type}'")
    value = get_signal_type(ours).validate(signal)
    outcome = matcher.match({ours: value})
    out: dict[str, list[dict[str, Any]]] = {}
    for m in [*outcome.matches, *outcome.suppressed, *outcome.allowlisted]:
        if banks is None or m.bank_name in banks:
            out.setdefault(m.bank_name, []).append(
                {"bank_content_id": m.entry_id, "distance": str(m.distance)}
            )
    return out


def hash_answer(content_type: str, signals: dict[str, str]) -> dict[str, str]:
    """HMA's ``POST /h/hash`` answer from OHSC's signals of the upload."""
    wanted = CONTENT_TYPES.get(content_type)
    if wanted is None:
        raise InvalidInputError(f"no such content_type: '{content_type}'")
    out: dict[str, str] = {}
    for name in wanted:
        value = signals.get(SIGNAL_TYPES[name])
        if value:
            out[name] = value
    return out


def banks_index(banks: BankService) -> list[dict[str, Any]]:
    """HMA's ``GET /c/banks`` answer."""
    return [{"name": b.name, "matching_enabled_ratio": 1.0 if b.enabled else 0.0} for b in banks.list_banks()]
