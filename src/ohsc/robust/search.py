"""The robust candidate index and the two-stage search (see :mod:`ohsc.robust`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from ohsc.robust import hashes
from ohsc.robust.descriptor import Query, RobustDescriptor
from ohsc.robust.features import Verification, verify

#: Stage 1: view hashes this close (of 256 bits) make a candidate. Unrelated photos are rarely
#: nearer than ~80 (docs/benchmarks.md); every candidate is verified by features.
CANDIDATE_RADIUS = 96
#: View hashes this close (and within the bank's threshold) are a copy without features: the
#: region is the bank picture's view. Unrelated photos' views were never nearer than 70
#: (docs/benchmarks.md); farther candidates need features.
ACCEPT_DISTANCE = 31
#: Stage 2: feature pairs that must agree on one similarity transform.
MIN_INLIERS = 16
#: At most this many candidates are verified per query (nearest first).
MAX_VERIFY = 6

Loader = Callable[[Sequence[int]], Mapping[int, RobustDescriptor]]


@dataclass(frozen=True, slots=True)
class RobustHit:
    """A bank picture found by robust matching, and how."""

    entry_id: int
    #: ``pdq-trimmed`` (the content boxes' hashes are within the bank's PDQ threshold),
    #: ``region`` (a view of one is within it: a crop, a caption bar, a turned copy) or
    #: ``features`` (only local features tie them).
    method: str
    #: The nearest pair of view hashes, and which views they were.
    #: ``inliers`` is 0 when the view hashes alone were close enough (``ACCEPT_DISTANCE``); then
    #: ``region`` is the bank picture's view that matched.
    distance: int
    query_view: str
    entry_view: str
    inliers: int
    region: tuple[float, float, float, float]
    rotation: float
    scale: float
    mirrored: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "view_distance": self.distance,
            "query_view": self.query_view,
            "entry_view": self.entry_view,
            "inliers": self.inliers,
            "region": list(self.region),
            "rotation": self.rotation,
            "scale": self.scale,
            "mirrored": self.mirrored,
        }


class RobustIndex:
    """View hashes of every robust entry in a flat binary index (exact range search)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes = np.zeros((0, hashes.HASH_BYTES), np.uint8)
        self._labels = np.zeros(0, np.int64)
        self._index: Any = None
        self._pending: list[tuple[int, npt.NDArray[np.uint8]]] = []
        self._removed: set[int] = set()

    def add(self, entry_id: int, view_hashes: npt.NDArray[np.uint8]) -> None:
        with self._lock:
            self._removed.discard(entry_id)
            self._pending.append((entry_id, view_hashes))

    def add_many(self, items: Iterable[tuple[int, npt.NDArray[np.uint8]]]) -> None:
        with self._lock:
            for entry_id, view_hashes in items:
                self._removed.discard(entry_id)
                self._pending.append((entry_id, view_hashes))

    def remove(self, entry_ids: Iterable[int]) -> None:
        with self._lock:
            self._removed.update(entry_ids)

    def __len__(self) -> int:
        with self._lock:
            self._compact()
            return len(set(self._labels.tolist()))

    def _compact(self) -> None:
        if not self._pending and not self._removed:
            return
        codes, labels = self._codes, self._labels
        if self._pending:
            ids = [i for i, _ in self._pending]
            keep = ~np.isin(labels, ids)  # an entry added again replaces its views
            codes = np.concatenate([codes[keep], *(h for _, h in self._pending)])
            labels = np.concatenate([labels[keep], *(np.full(len(h), i, np.int64) for i, h in self._pending)])
        if self._removed:
            keep = ~np.isin(labels, list(self._removed))
            codes, labels = codes[keep], labels[keep]
        self._codes, self._labels = np.ascontiguousarray(codes), labels
        self._pending, self._removed = [], set()
        index = faiss.IndexBinaryFlat(hashes.HASH_BYTES * 8)
        if len(labels):
            index.add(self._codes)
        self._index = index

    def candidates(self, query: Query, radius: int = CANDIDATE_RADIUS) -> list[tuple[int, int, int, int]]:
        """(distance, entry id, query view, entry view) of each entry within ``radius`` by its
        nearest pair of views, nearest first."""
        with self._lock:
            self._compact()
            index, labels = self._index, self._labels
        if index is None or not len(labels):
            return []
        lims, dist, idx = index.range_search(np.ascontiguousarray(query.hashes), radius + 1)
        views = len(hashes.INDEX_VIEWS)
        best: dict[int, tuple[int, int, int, int]] = {}
        for q in range(len(lims) - 1):
            for k in range(int(lims[q]), int(lims[q + 1])):
                row, d = int(idx[k]), int(dist[k])
                entry = int(labels[row])
                current = best.get(entry)
                if current is None or d < current[0]:
                    best[entry] = (d, entry, q, row % views)
        return sorted(best.values())


def _method(distance: int, query_view: int, entry_view: int, threshold: int) -> str:
    if distance > threshold:
        return "features"
    if query_view == 0 and entry_view == 0:
        return "pdq-trimmed"
    return "region"


def _verify(
    query: Query, descriptor: RobustDescriptor, mirrored: bool, min_inliers: int
) -> Verification | None:
    return verify(
        query.features(mirrored),
        query.box_for(mirrored),
        descriptor.features,
        (descriptor.width, descriptor.height),
        min_inliers,
    )


def search(
    index: RobustIndex,
    query: Query,
    load: Loader,
    *,
    threshold: int = 31,
    radius: int = CANDIDATE_RADIUS,
    min_inliers: int = MIN_INLIERS,
    max_verify: int = MAX_VERIFY,
) -> list[RobustHit]:
    """Robust entries the query is a copy of: candidates by view hashes, each verified by local
    features. ``load`` gives the stored descriptors of candidate entries."""
    found = index.candidates(query, radius)
    accept = min(threshold, ACCEPT_DISTANCE)
    near = [c for c in found if c[0] <= accept]
    far = [c for c in found if c[0] > accept][:max_verify]
    stored = load([entry for _, entry, _, _ in far]) if far else {}
    hits: list[RobustHit] = []
    for distance, entry_id, qv, ev in near + far:
        mirrored = hashes.QUERY_VIEW_NAMES[qv] == "mirror"
        checked: Verification | None
        if distance <= accept:
            checked = Verification(0, hashes.view_region(ev), 0.0, 1.0)
        elif (descriptor := stored.get(entry_id)) is not None:
            checked = _verify(query, descriptor, mirrored, min_inliers)
            if checked is None and mirrored:  # the mirror view was nearest by chance
                mirrored = False
                checked = _verify(query, descriptor, mirrored, min_inliers)
        else:
            continue
        if checked is None:
            continue
        hits.append(
            RobustHit(
                entry_id=entry_id,
                method=_method(distance, qv, ev, threshold),
                distance=distance,
                query_view=hashes.QUERY_VIEW_NAMES[qv],
                entry_view=hashes.INDEX_VIEW_NAMES[ev],
                inliers=checked.inliers,
                region=checked.region,
                rotation=checked.rotation,
                scale=checked.scale,
                mirrored=mirrored,
            )
        )
    return hits
