"""Exact lookup for cryptographic digests: a sorted array of digests plus a dict of recent adds.

At 10 M MD5s the base is 160 MB of digests and 80 MB of labels, looked up by binary search.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ohsc.index.base import IndexHit, SignalIndex, as_labels

DELTA_MAX = 100_000


class ExactIndex(SignalIndex):
    kind = "exact"

    def __init__(self, signal_type: str, nbytes: int) -> None:
        super().__init__(signal_type)
        self.nbytes = nbytes
        self._dtype = np.dtype(f"S{nbytes}")
        self._keys = np.zeros(0, dtype=self._dtype)
        self._labels = np.zeros(0, dtype=np.int64)
        self._delta: dict[bytes, list[int]] = {}
        self._frozen: dict[bytes, list[int]] = {}  # the delta being merged by compact()
        self._delta_count = 0
        self._dead: set[int] = set()
        self._lock = threading.RLock()

    def add(self, labels: Sequence[int], values: Sequence[str]) -> None:
        labs = as_labels(labels).tolist()
        with self._lock:
            for label, value in zip(labs, values, strict=True):
                self._delta.setdefault(bytes.fromhex(value), []).append(label)
            self._delta_count += len(labs)
            if self._dead:
                self._dead.difference_update(labs)

    def remove(self, labels: Iterable[int]) -> None:
        with self._lock:
            self._dead.update(int(x) for x in labels)

    def query(self, value: str, max_distance: int = 0) -> list[IndexHit]:
        key = bytes.fromhex(value)
        with self._lock:
            lo = int(np.searchsorted(self._keys, key, side="left"))
            hi = int(np.searchsorted(self._keys, key, side="right"))
            found = set(self._labels[lo:hi].tolist())
            found.update(self._delta.get(key, ()))
            found.update(self._frozen.get(key, ()))
            found -= self._dead
        return [IndexHit(0, label) for label in sorted(found)]

    def __len__(self) -> int:
        return len(self._labels) + self._delta_count - len(self._dead)

    def needs_compaction(self) -> bool:
        return self._delta_count > max(DELTA_MAX, len(self._labels) // 10) or len(self._dead) > max(
            1000, len(self._labels) // 10
        )

    def _merged(
        self,
        base_keys: npt.NDArray[Any],
        base_labels: npt.NDArray[np.int64],
        deltas: list[dict[bytes, list[int]]],
        dead: set[int],
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
        keys = [base_keys]
        labels = [base_labels]
        for delta in deltas:
            dk: list[bytes] = []
            dl: list[int] = []
            for key, labs in delta.items():
                dk.extend([key] * len(labs))
                dl.extend(labs)
            keys.append(np.array(dk, dtype=self._dtype))
            labels.append(np.array(dl, dtype=np.int64))
        k = np.concatenate(keys)
        lab = np.concatenate(labels)
        keep = ~np.isin(lab, np.fromiter(dead, dtype=np.int64)) if dead else np.ones(len(lab), bool)
        k, lab = k[keep], lab[keep]
        # one copy per label
        _, first = np.unique(lab, return_index=True)
        k, lab = k[first], lab[first]
        order = np.argsort(k, kind="stable")
        return k[order], lab[order]

    def compact(self) -> None:
        with self._lock:
            if self._frozen:
                return  # another compaction is running
            self._frozen, self._delta = self._delta, {}
            self._delta_count = 0
            base_keys, base_labels, dead = self._keys, self._labels, set(self._dead)
        keys, labels = self._merged(base_keys, base_labels, [self._frozen], dead)  # slow part, unlocked
        with self._lock:
            readded = self._dead & {lab for labs in self._delta.values() for lab in labs}
            self._keys, self._labels = keys, labels
            self._frozen = {}
            self._dead = (self._dead - dead) | readded

    def stats(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "signal_type": self.signal_type,
            "base_size": len(self._labels),
            "delta_size": self._delta_count,
            "removed_pending": len(self._dead),
        }

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        with self._lock:
            keys, labels = self._merged(self._keys, self._labels, [self._frozen, self._delta], self._dead)
        return {"nbytes": self.nbytes}, {"keys": keys, "labels": labels}

    @classmethod
    def from_arrays(
        cls, signal_type: str, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> ExactIndex:
        idx = cls(signal_type, int(params["nbytes"]))
        idx._keys = np.asarray(arrays["keys"]).astype(idx._dtype, copy=False)
        idx._labels = np.asarray(arrays["labels"], dtype=np.int64)
        return idx
