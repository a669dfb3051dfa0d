"""The robust candidate index and the two-stage search (see :mod:`ohsc.robust`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from ohsc.index.threads import limit_calling_thread
from ohsc.robust import hashes, postings
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
#: And at most this many more found by their features' keys (best scored first).
FEATURE_CANDIDATES = 3

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
    """View hashes of every robust entry in a flat binary index (exact range search), and their
    features' keys in a :class:`~ohsc.robust.postings.FeatureIndex`. Changes are incremental:
    added views are appended, removed ones masked until a quarter of the rows are dead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: list[npt.NDArray[np.uint8]] = []
        self._labels = np.zeros(0, np.int64)
        self._rows: dict[int, tuple[int, int]] = {}  # entry -> its rows [start, stop)
        self._dead = np.zeros(0, bool)
        self._index: Any = faiss.IndexBinaryFlat(hashes.HASH_BYTES * 8)
        self.features = postings.FeatureIndex()

    def add(
        self, entry_id: int, view_hashes: npt.NDArray[np.uint8], keys: postings.Keys | None = None
    ) -> None:
        self.add_many([(entry_id, view_hashes, keys)])

    def add_many(self, items: Iterable[tuple[int, npt.NDArray[np.uint8], postings.Keys | None]]) -> None:
        """Add (or replace) entries: their view hashes and, when known, their features' keys."""
        with self._lock:
            codes, labels, feature_items = [], [], []
            at = len(self._labels)
            for entry_id, view_hashes, keys in items:
                self._drop(entry_id)
                self._rows[entry_id] = (at, at + len(view_hashes))
                at += len(view_hashes)
                codes.append(view_hashes)
                labels.append(np.full(len(view_hashes), entry_id, np.int64))
                if keys is not None:
                    feature_items.append((entry_id, keys))
            if not codes:
                return
            block = np.ascontiguousarray(np.concatenate(codes), np.uint8)
            self._index.add(block)
            self._codes.append(block)
            self._labels = np.concatenate([self._labels, *labels])
            self._dead = np.concatenate([self._dead, np.zeros(len(block), bool)])
            self.features.add_many(feature_items)

    def remove(self, entry_ids: Iterable[int]) -> None:
        with self._lock:
            for entry_id in entry_ids:
                self._drop(entry_id)
            self._compact_if_sparse()

    def _drop(self, entry_id: int) -> None:
        rows = self._rows.pop(entry_id, None)
        if rows is not None:
            self._dead[rows[0] : rows[1]] = True
        self.features.remove([entry_id], merge=False)

    def _compact_if_sparse(self) -> None:
        dead = int(self._dead.sum())
        if dead <= max(256, len(self._dead) // 4):
            return
        keep = ~self._dead
        codes = np.ascontiguousarray(np.concatenate(self._codes)[keep])
        labels = self._labels[keep]
        self._index = faiss.IndexBinaryFlat(hashes.HASH_BYTES * 8)
        if len(codes):
            self._index.add(codes)
        self._codes, self._labels, self._dead = [codes], labels, np.zeros(len(labels), bool)
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if len(labels) else np.zeros(0, int)
        stops = np.r_[starts[1:], len(labels)]
        self._rows = {int(labels[a]): (int(a), int(b)) for a, b in zip(starts, stops, strict=True)}
        self.features.remove([], merge=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def nbytes(self) -> int:
        """Memory of the candidate index: codes, labels, masks and the features' postings."""
        with self._lock:
            rows = len(self._labels)
            return rows * (hashes.HASH_BYTES * 2 + 8 + 1) + 48 * len(self._rows) + self.features.nbytes()

    def candidates(self, query: Query, radius: int = CANDIDATE_RADIUS) -> list[tuple[int, int, int, int]]:
        """(distance, entry id, query view, entry view) of each entry within ``radius`` by its
        nearest pair of views, nearest first."""
        with self._lock:
            index, labels, dead, rows = self._index, self._labels, self._dead, self._rows
            if not rows:
                return []
            limit_calling_thread()  # one query: more OpenMP threads would only spin (index.threads)
            lims, dist, idx = index.range_search(np.ascontiguousarray(query.hashes), radius + 1)
        best: dict[int, tuple[int, int, int, int]] = {}
        for q in range(len(lims) - 1):
            for k in range(int(lims[q]), int(lims[q + 1])):
                row, d = int(idx[k]), int(dist[k])
                if dead[row]:
                    continue
                entry = int(labels[row])
                current = best.get(entry)
                if current is None or d < current[0]:
                    best[entry] = (d, entry, q, row - rows[entry][0])
        return sorted(best.values())

    def feature_candidates(self, query: Query, top: int = FEATURE_CANDIDATES) -> list[tuple[float, int]]:
        """(score, entry id) of the entries whose features' keys the query's share most."""
        query_keys = postings.keys(query.features(False).descriptors, None)
        with self._lock:
            return self.features.scores(query_keys, top)


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


def _nearest_views(query: Query, descriptor: RobustDescriptor) -> tuple[int, int, int]:
    """(distance, query view, entry view) of the nearest pair of view hashes."""
    bits = np.unpackbits(query.hashes[:, None, :] ^ descriptor.hashes[None, :, :], axis=2).sum(axis=2)
    qv, ev = np.unravel_index(int(np.argmin(bits)), bits.shape)
    return int(bits[qv, ev]), int(qv), int(ev)


def _hit(
    entry_id: int, distance: int, qv: int, ev: int, checked: Verification, mirrored: bool, threshold: int
) -> RobustHit:
    return RobustHit(
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


def search(
    index: RobustIndex,
    query: Query,
    load: Loader,
    *,
    threshold: int = 31,
    radius: int = CANDIDATE_RADIUS,
    min_inliers: int = MIN_INLIERS,
    max_verify: int = MAX_VERIFY,
    feature_candidates: int = FEATURE_CANDIDATES,
) -> list[RobustHit]:
    """Robust entries the query is a copy of: candidates by view hashes (and, when no view is
    within the threshold, by their features' keys), each verified by local features. ``load``
    gives the stored descriptors of candidate entries."""
    found = index.candidates(query, radius)
    accept = min(threshold, ACCEPT_DISTANCE)
    near = [c for c in found if c[0] <= accept]
    far = [c for c in found if c[0] > accept][:max_verify]
    listed = {c[1] for c in near + far}
    extra = []
    if not near and feature_candidates:
        extra = [e for _, e in index.feature_candidates(query, feature_candidates) if e not in listed]
    wanted = [entry for _, entry, _, _ in far] + extra
    stored = load(wanted) if wanted else {}
    hits = [
        _hit(e, d, qv, ev, Verification(0, hashes.view_region(ev), 0.0, 1.0), False, threshold)
        for d, e, qv, ev in near
    ]
    for distance, entry_id, qv, ev in far:
        descriptor = stored.get(entry_id)
        if descriptor is None:
            continue
        mirrored = hashes.QUERY_VIEW_NAMES[qv] == "mirror"
        checked = _verify(query, descriptor, mirrored, min_inliers)
        if checked is None and mirrored:  # the mirror view was nearest by chance
            mirrored = False
            checked = _verify(query, descriptor, mirrored, min_inliers)
        if checked is not None:
            hits.append(_hit(entry_id, distance, qv, ev, checked, mirrored, threshold))
    for entry_id in extra:
        descriptor = stored.get(entry_id)
        if descriptor is not None and (checked := _verify(query, descriptor, False, min_inliers)) is not None:
            distance, qv, ev = _nearest_views(query, descriptor)
            hits.append(_hit(entry_id, distance, qv, ev, checked, False, threshold))
    return hits
