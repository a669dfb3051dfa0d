"""Jurisdictions: ISO 3166-1 alpha-2 country codes, the ``EU`` group and the ``*`` fallback.

Settings map jurisdictions to destinations and retention periods. A lookup for a country tries
the country itself, then ``EU`` for a member state, then ``*``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from ohsc.errors import InvalidInputError

EU_MEMBERS = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
#: The EU group key and the fallback key in settings mappings.
EU = "EU"
ANY = "*"

T = TypeVar("T")


def normalise(code: str) -> str:
    """Upper-case two-letter code (``UK`` is accepted for ``GB``, ``EL`` for ``GR``)."""
    norm = code.strip().upper()
    norm = {"UK": "GB", "EL": "GR"}.get(norm, norm)
    if not (len(norm) == 2 and norm.isalpha()):
        raise InvalidInputError(f"{code!r} is not a country code (ISO 3166-1 alpha-2, e.g. US, GB, DE)")
    return norm


def candidates(code: str) -> list[str]:
    """Keys to try, most specific first."""
    norm = normalise(code)
    keys = [norm]
    if norm in EU_MEMBERS:
        keys.append(EU)
    keys.append(ANY)
    return keys


def lookup(mapping: Mapping[str, T], code: str) -> tuple[str, T] | None:
    """The most specific entry for ``code``: ``(key, value)`` or None."""
    for key in candidates(code):
        if key in mapping:
            return key, mapping[key]
    return None


def lookup_all(mapping: Mapping[str, T], codes: Iterable[str]) -> list[tuple[str, str, T]]:
    """``(code, matched key, value)`` for each code that has an entry."""
    found = []
    for code in codes:
        hit = lookup(mapping, code)
        if hit is not None:
            found.append((normalise(code), hit[0], hit[1]))
    return found


def is_eu(code: str) -> bool:
    return normalise(code) in EU_MEMBERS
