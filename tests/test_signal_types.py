"""Signal types: names, validation, normalisation, distance."""

from __future__ import annotations

import pytest

from ohsc.errors import InvalidSignalError, UnknownSignalTypeError
from ohsc.signals import SIGNAL_TYPES, get_signal_type, guess_signal_types
from ohsc.signals.pdq import PdqSignal

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_names_are_the_storage_keys() -> None:
    assert {"md5", "sha1", "sha256", "pdq"} <= set(SIGNAL_TYPES)
    for name, cls in SIGNAL_TYPES.items():
        assert cls.name == name


@pytest.mark.parametrize(
    ("name", "raw", "norm"),
    [
        ("md5", " D41D8CD98F00B204E9800998ECF8427E ", "d41d8cd98f00b204e9800998ecf8427e"),
        ("sha1", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("pdq", PDQ.upper(), PDQ),
    ],
)
def test_values_are_normalised(name: str, raw: str, norm: str) -> None:
    assert get_signal_type(name).validate(raw) == norm


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("md5", "abc", "expected 32 hex characters, got 3"),
        ("sha256", "z" * 64, "not a hexadecimal string"),
        ("pdq", PDQ[:-1], "expected 64 hex characters, got 63"),
    ],
)
def test_invalid_values_say_why(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidSignalError, match=message):
        get_signal_type(name).validate(value)


def test_unknown_signal_type_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSignalTypeError, match="known: md5, pdq, sha1, sha256"):
        get_signal_type("photodna")


def test_guessing_a_bare_value() -> None:
    assert guess_signal_types("d41d8cd98f00b204e9800998ecf8427e") == ["md5"]
    assert sorted(guess_signal_types(PDQ)) == ["pdq", "sha256"]
    assert guess_signal_types("hello") == []


def test_pdq_distance_is_hamming() -> None:
    flipped = PDQ[:-1] + format(int(PDQ[-1], 16) ^ 0b1011, "x")
    assert PdqSignal.distance(PDQ, PDQ) == 0
    assert PdqSignal.distance(PDQ, flipped) == 3
    assert PdqSignal.distance("0" * 64, "f" * 64) == 256
