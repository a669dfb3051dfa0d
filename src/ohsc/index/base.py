"""The signal-index interface.

An index holds ``(label, value)`` pairs for one signal type, where the label is a bank entry id,
and answers "which labels are within distance d of this value" **without misses**. Adds and
removals are incremental; implementations are checked against :class:`LinearPdqIndex` (PDQ) and
a plain dict (digests) in contract tests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ohsc.store.db import Store

Labels = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, order=True)
class IndexHit:
    distance: int
    label: int


class SignalIndex(ABC):
    """An in-memory index of one signal type. ``kind`` names the implementation in index files."""

    kind: ClassVar[str]

    def __init__(self, signal_type: str) -> None:
        self.signal_type = signal_type

    @abstractmethod
    def add(self, labels: Sequence[int], values: Sequence[str]) -> None:
        """Add values (already validated). Adding a label again is harmless."""

    @abstractmethod
    def remove(self, labels: Iterable[int]) -> None:
        """Stop returning these labels. Removing an unknown label is harmless."""

    @abstractmethod
    def query(self, value: str, max_distance: int = 0) -> list[IndexHit]:
        """Every live label within ``max_distance`` of ``value``, nearest first, each label once."""

    def query_many(self, values: Sequence[str], max_distance: int = 0) -> list[list[IndexHit]]:
        return [self.query(v, max_distance) for v in values]

    @abstractmethod
    def __len__(self) -> int:
        """Number of live labels (approximate while removals are pending compaction)."""

    @abstractmethod
    def to_arrays(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        """Parameters and arrays for :mod:`ohsc.index.persist` (never pickled)."""

    @classmethod
    @abstractmethod
    def from_arrays(
        cls, signal_type: str, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> SignalIndex:
        """Rebuild from what :meth:`to_arrays` returned."""

    def attach(self, store: Store) -> None:  # noqa: B027 - optional hook, no-op by default
        """Called by the index set with its store (indexes whose values refer to stored payloads)."""

    def needs_compaction(self) -> bool:
        return False

    def compact(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Rewrite internal segments without removed entries (may take seconds at millions)."""

    def stats(self) -> dict[str, Any]:
        return {"kind": self.kind, "signal_type": self.signal_type, "live": len(self)}


def finish_hits(labels: npt.NDArray[np.int64], distances: npt.NDArray[Any], dead: set[int]) -> list[IndexHit]:
    """Drop removed labels, keep each label once (smallest distance), order nearest first."""
    best: dict[int, int] = {}
    for label, dist in zip(labels.tolist(), distances.tolist(), strict=True):
        if label in dead:
            continue
        if label not in best or dist < best[label]:
            best[label] = dist
    return sorted(IndexHit(d, lab) for lab, d in best.items())


def as_labels(labels: Sequence[int] | npt.NDArray[Any]) -> Labels:
    return np.asarray(labels, dtype=np.int64).reshape(-1)
