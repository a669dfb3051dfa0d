"""PDQ values as bit codes: 32 bytes per hash, or 4 big-endian 64-bit words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ohsc.errors import InvalidSignalError

_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hex_to_bytes(values: Sequence[str]) -> npt.NDArray[np.uint8]:
    """(n, 32) uint8 codes from 64-hex-digit strings (bulk conversion, one bytes.fromhex call)."""
    if len(values) == 0:
        return np.zeros((0, 32), dtype=np.uint8)
    try:
        raw = bytes.fromhex("".join(values))
    except ValueError as exc:
        raise InvalidSignalError(f"not a hex PDQ value: {exc}") from exc
    if len(raw) != 32 * len(values):
        raise InvalidSignalError("every PDQ value must be 64 hex digits")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32).copy()


def bytes_to_words(codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """(n, 4) uint64 words, word 0 holding the first 8 bytes with the hash's first bit as MSB."""
    return np.ascontiguousarray(codes).view(">u8").astype(np.uint64).reshape(-1, 4)


def hamming_to_all(codes: npt.NDArray[np.uint8], query: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Distances from one (32,) code to every row of ``codes`` (numpy; the oracle's arithmetic)."""
    dist: npt.NDArray[np.int64] = _POP8[np.bitwise_xor(codes, query[None, :])].sum(axis=1, dtype=np.int64)
    return dist
