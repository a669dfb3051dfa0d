"""Brute force: compare the query with every stored code. Slow, obviously right: the oracle
every PDQ index implementation must agree with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ohsc.index.base import IndexHit, SignalIndex, as_labels, finish_hits
from ohsc.index.codes import hamming_to_all, hex_to_bytes


class LinearPdqIndex(SignalIndex):
    kind = "linear"

    def __init__(self, signal_type: str = "pdq") -> None:
        super().__init__(signal_type)
        self._codes = np.zeros((0, 32), dtype=np.uint8)
        self._labels = np.zeros(0, dtype=np.int64)
        self._dead: set[int] = set()

    def add(self, labels: Sequence[int], values: Sequence[str]) -> None:
        labs = as_labels(labels)
        self._codes = np.concatenate([self._codes, hex_to_bytes(values)])
        self._labels = np.concatenate([self._labels, labs])
        self._dead.difference_update(labs.tolist())

    def remove(self, labels: Iterable[int]) -> None:
        self._dead.update(int(x) for x in labels)

    def query(self, value: str, max_distance: int = 0) -> list[IndexHit]:
        q = hex_to_bytes([value])[0]
        d = hamming_to_all(self._codes, q)
        keep = d <= max_distance
        return finish_hits(self._labels[keep], d[keep], self._dead)

    def __len__(self) -> int:
        return len(set(self._labels.tolist()) - self._dead)

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        return {}, {
            "codes": self._codes,
            "labels": self._labels,
            "dead": np.array(sorted(self._dead), dtype=np.int64),
        }

    @classmethod
    def from_arrays(
        cls, signal_type: str, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> LinearPdqIndex:
        idx = cls(signal_type)
        idx._codes = np.array(arrays["codes"], dtype=np.uint8)
        idx._labels = np.array(arrays["labels"], dtype=np.int64)
        idx._dead = set(arrays["dead"].tolist())
        return idx
