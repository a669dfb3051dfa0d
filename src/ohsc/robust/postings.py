"""Candidates from local features: an inverted index of bit-sampled keys of ORB descriptors.

Copies that no view hash brings within :data:`ohsc.robust.search.CANDIDATE_RADIUS` (a crop whose
trimmed box differs from the bank picture's, a caption bar over a picture with a sky) still share
many ORB features with the bank picture. Each of :data:`INDEXED` features of an entry is filed
under :data:`TABLES` keys of :data:`KEY_BITS` fixed bits of its descriptor (locality-sensitive
hashing by bit sampling); a query's features look up their keys, and each entry scores the sum,
over the keys it shares with the query, of ``log(1 + entries / entries under the key)`` (rare keys
count more; keys that a share over :data:`COMMON_SHARE` of entries have are skipped). The best
scored entries are verified by features like any other candidate (docs/benchmarks.md).

Changes are incremental: added entries go to a small unsorted delta merged into the sorted main
arrays when it grows past a share of them; removed entries are masked and purged at the merge.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

#: Bits of a descriptor in a key, and how many keys (tables) each feature has.
KEY_BITS = 24
TABLES = 2
#: Features of an entry that are indexed (evenly spaced among its stored ones).
INDEXED = 200
#: A key held by more than this share of entries (and more than :data:`COMMON_MIN`) is skipped.
COMMON_SHARE = 0.05
COMMON_MIN = 8
#: The delta is merged into the main arrays when it holds this share of their postings.
MERGE_SHARE = 0.1

_BITS = np.random.default_rng(20261203).permutation(256)[: KEY_BITS * TABLES].reshape(TABLES, KEY_BITS)
_WEIGHTS = (np.uint32(1) << np.arange(KEY_BITS, dtype=np.uint32)).astype(np.uint32)
_TABLE = (np.arange(TABLES, dtype=np.uint32) << np.uint32(KEY_BITS)).astype(np.uint32)

Keys = npt.NDArray[np.uint32]


def keys(descriptors: npt.NDArray[np.uint8], limit: int | None = INDEXED) -> Keys:
    """The distinct keys of (at most ``limit`` evenly spaced of) these ORB descriptors."""
    n = len(descriptors)
    if not n:
        return np.zeros(0, np.uint32)
    if limit is not None and n > limit:
        descriptors = descriptors[np.linspace(0, n - 1, limit).astype(np.intp)]
    bits = np.unpackbits(descriptors, axis=1)[:, _BITS]  # (n, TABLES, KEY_BITS)
    values = (bits.astype(np.uint32) * _WEIGHTS).sum(axis=2, dtype=np.uint32) | _TABLE
    return np.unique(values.reshape(-1))


class FeatureIndex:
    """Keys -> entries, with per-entry slots so scores are one ``bincount``. Not thread-safe: the
    owner (:class:`ohsc.robust.search.RobustIndex`) holds the lock."""

    def __init__(self) -> None:
        self._keys = np.zeros(0, np.uint32)  # sorted
        self._slots = np.zeros(0, np.int32)
        self._delta_keys: list[Keys] = []
        self._delta_slots: list[npt.NDArray[np.int32]] = []
        self._delta_size = 0
        self._entry_of_slot: list[int] = []
        self._slot_of: dict[int, int] = {}
        self._dead: set[int] = set()  # slots of removed entries, until the next merge

    def __len__(self) -> int:
        return len(self._slot_of)

    @property
    def postings(self) -> int:
        return len(self._keys) + self._delta_size

    def nbytes(self) -> int:
        return int(self._keys.nbytes + self._slots.nbytes) + 16 * len(self._slot_of)

    def add(self, entry_id: int, entry_keys: Keys) -> None:
        self._add(entry_id, entry_keys)
        if self._delta_size > max(1024, MERGE_SHARE * len(self._keys)):
            self._merge()

    def add_many(self, items: Iterable[tuple[int, Keys]]) -> None:
        for entry_id, entry_keys in items:
            self._add(entry_id, entry_keys)
        if self._delta_size:
            self._merge()

    def _add(self, entry_id: int, entry_keys: Keys) -> None:
        self.remove([entry_id], merge=False)  # added again: the new keys replace the old
        slot = len(self._entry_of_slot)
        self._entry_of_slot.append(entry_id)
        self._slot_of[entry_id] = slot
        if len(entry_keys):
            self._delta_keys.append(entry_keys.astype(np.uint32, copy=False))
            self._delta_slots.append(np.full(len(entry_keys), slot, np.int32))
            self._delta_size += len(entry_keys)

    def remove(self, entry_ids: Iterable[int], merge: bool = True) -> None:
        for entry_id in entry_ids:
            slot = self._slot_of.pop(entry_id, None)
            if slot is not None:
                self._dead.add(slot)
        if merge and len(self._dead) > max(64, len(self._slot_of) // 4):
            self._merge()

    def _merge(self) -> None:
        """Sort the delta into the main arrays and drop the postings of removed entries."""
        keys_ = np.concatenate([self._keys, *self._delta_keys])
        slots = np.concatenate([self._slots, *self._delta_slots])
        if self._dead:  # drop the dead slots' postings and renumber the rest
            alive = ~np.isin(slots, np.fromiter(self._dead, np.int32, len(self._dead)))
            keys_, slots = keys_[alive], slots[alive]
            live = sorted(self._slot_of.items(), key=lambda kv: kv[1])
            renumber = np.full(len(self._entry_of_slot), -1, np.int32)
            renumber[[s for _, s in live]] = np.arange(len(live), dtype=np.int32)
            slots = renumber[slots]
            self._entry_of_slot = [e for e, _ in live]
            self._slot_of = {e: i for i, (e, _) in enumerate(live)}
            self._dead = set()
        order = np.argsort(keys_, kind="stable")
        self._keys, self._slots = keys_[order], slots[order]
        self._delta_keys, self._delta_slots, self._delta_size = [], [], 0

    def _lookup(self, query_keys: Keys) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.intp]]:
        """(slot, index of the query key) of every posting under the query's keys."""
        lo = np.searchsorted(self._keys, query_keys, "left")
        hi = np.searchsorted(self._keys, query_keys, "right")
        counts = hi - lo
        total = int(counts.sum())
        which = np.repeat(np.arange(len(query_keys)), counts)
        starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
        rows = starts + np.arange(total)
        slots, keys_at = self._slots[rows], which
        if self._delta_size:
            dk = np.concatenate(self._delta_keys)
            ds = np.concatenate(self._delta_slots)
            hit = np.isin(dk, query_keys)
            if hit.any():
                slots = np.concatenate([slots, ds[hit]])
                keys_at = np.concatenate([keys_at, np.searchsorted(query_keys, dk[hit])])
        return slots, keys_at

    def scores(self, query_keys: Keys, top: int) -> list[tuple[float, int]]:
        """(score, entry id) of the ``top`` best scored live entries, best first."""
        entries = len(self._slot_of)
        if not entries or not len(query_keys):
            return []
        query_keys = np.unique(query_keys)
        slots, key_at = self._lookup(query_keys)
        if not len(slots):
            return []
        df = np.bincount(key_at, minlength=len(query_keys))
        common = df > max(COMMON_MIN, COMMON_SHARE * entries)
        weight = np.log1p(entries / np.maximum(df, 1))
        weight[common] = 0.0
        touched, at = np.unique(slots, return_inverse=True)  # only the entries that share a key
        score = np.bincount(at, weights=weight[key_at], minlength=len(touched))
        if self._dead:
            score[np.isin(touched, np.fromiter(self._dead, np.int32, len(self._dead)))] = 0.0
        if len(score) > top:
            best = np.argpartition(-score, top)[:top]
            best = best[np.argsort(-score[best], kind="stable")]
        else:
            best = np.argsort(-score, kind="stable")
        return [(float(score[b]), self._entry_of_slot[int(touched[b])]) for b in best if score[b] > 0]
