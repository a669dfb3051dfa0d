"""Near-duplicate stacks through the PDQ index, never pairwise loops.

Each new item, in order, joins the stack of its nearest earlier item within the case's threshold
(the smallest distance, then the smallest item id), or starts a stack of its own. The search is
multi-index hashing over the case's items (:mod:`ohsc.cases.stack_index`): it looks at the items
sharing a chunk of bits with the new one, so a case's stacking is no longer quadratic in its size
(a flat range search of each batch against every item before it: 10.6 s for 100,000 items). Items whose PDQ quality is below
``OHSC_PDQ_QUALITY_MIN`` (flat pictures, where every hash is alike) stay alone.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import faiss
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc.cases.models import CaseItemRow
from ohsc.cases.stack_index import PROBES_MAX, StackIndex, probes_per_query
from ohsc.index.codes import hex_to_bytes
from ohsc.index.pdq_index import FlatSegment


@contextmanager
def one_faiss_thread() -> Iterator[None]:
    """faiss answers one query at a time fastest on one thread: with its default OpenMP team a
    single range search paid thread wake-ups worth 4 ms on a busy 2-core machine (40x slower
    stacking, measured in benchmarks/bench_case.py). The previous setting comes back after."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _range(index: faiss.IndexBinaryFlat, queries: np.ndarray, radius: int) -> list[list[tuple[int, int]]]:
    """(distance, position) of every code within ``radius`` of each query."""
    if index.ntotal == 0 or len(queries) == 0:
        return [[] for _ in range(len(queries))]
    lims, dist, idx = index.range_search(queries, radius + 1)  # faiss: distance < r
    return [
        list(zip(dist[lims[q] : lims[q + 1]].tolist(), idx[lims[q] : lims[q + 1]].tolist(), strict=True))
        for q in range(len(queries))
    ]


class FlatStacks:
    """A small case's stackable items in a flat faiss index (codes, ids) and, position for
    position, the stack of each: a batch is one range search against all of them and one
    against itself. Quadratic in a case's size; up to 20,000 items as fast as the stack index
    (0.25-0.28 s for all 20,000, measured)."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.segment = FlatSegment()
        self._stacks = array("q")

    def __len__(self) -> int:
        return len(self.segment)

    @property
    def stacks(self) -> np.ndarray:
        return np.frombuffer(self._stacks, dtype=np.int64).copy() if self._stacks else np.zeros(0, np.int64)

    def extend(self, codes: np.ndarray, ids: np.ndarray, stacks: np.ndarray) -> None:
        self.segment.add(codes, ids)
        self._stacks.extend(stacks.tolist())

    def place(self, codes: np.ndarray, ids: np.ndarray) -> np.ndarray:
        known = _range(self.segment.index, codes, self.threshold)
        batch = faiss.IndexBinaryFlat(256)
        batch.add(codes)
        among = _range(batch, codes, self.threshold)
        labels, stacks = self.segment.labels, self._stacks
        placed: list[int] = []
        for q, item_id in enumerate(ids.tolist()):
            best: tuple[int, int, int] | None = None  # distance, item, its stack
            for dist, pos in known[q]:
                cand = (dist, int(labels[pos]), stacks[pos])
                best = cand if best is None or cand < best else best
            for dist, pos in among[q]:
                if pos < q:  # earlier in this batch
                    cand = (dist, int(ids[pos]), placed[pos])
                    best = cand if best is None or cand < best else best
            placed.append(item_id if best is None else best[2])
        self.segment.add(codes, ids)
        self._stacks.extend(placed)
        return np.array(placed, dtype=np.int64)


class Stacker:
    """The case's stackable items: a :class:`FlatStacks` up to ``mih_from`` items, then a
    :class:`~ohsc.cases.stack_index.StackIndex` (multi-index hashing: a new item is compared
    with the few items sharing a chunk of bits with it, not with every item before it). Both
    give the same stacks."""

    def __init__(self, threshold: int, quality_min: int, mih_from: int | None = None) -> None:
        self.threshold = threshold
        self.quality_min = quality_min
        self.mih_from = MIH_FROM if mih_from is None else mih_from
        self.index: FlatStacks | StackIndex = FlatStacks(threshold)
        self._grow(0)

    @property
    def stacks(self) -> np.ndarray:
        """The stack of each stacked item, in the order they were placed or read."""
        return self.index.stacks

    def _grow(self, extra: int) -> StackIndex | FlatStacks:
        """The index to take ``extra`` more items: the flat one's items move into a stack index
        when they would reach ``mih_from`` (unless the threshold is too wide for its buckets:
        more than ``PROBES_MAX`` lookups a query, past about 60 bits)."""
        flat = self.index
        wide = probes_per_query(self.threshold) > PROBES_MAX  # the buckets would not pay
        if isinstance(flat, FlatStacks) and len(flat) + extra >= self.mih_from and not wide:
            self.index = StackIndex(self.threshold)
            self.index.extend(flat.segment.codes(), flat.segment.labels, flat.stacks)
        return self.index

    @classmethod
    def load(
        cls, session: Session, case_id: int, threshold: int, quality_min: int, mih_from: int | None = None
    ) -> Stacker:
        """A stacker holding the case's stacked items (to go on where an ingest stopped); read a
        chunk at a time."""
        stacker = cls(threshold, quality_min, mih_from)
        rows = session.execute(
            select(CaseItemRow.id, CaseItemRow.stack_id, CaseItemRow.pdq)
            .where(
                CaseItemRow.case_id == case_id,
                CaseItemRow.pdq.is_not(None),
                CaseItemRow.pdq_quality >= quality_min,
            )
            .order_by(CaseItemRow.id)
            .execution_options(yield_per=_CHUNK)
        )
        for chunk in rows.partitions():
            kept = [(i, st, p) for i, st, p in chunk if p is not None]
            if kept:
                stacker._grow(len(kept)).extend(
                    hex_to_bytes([p for _i, _s, p in kept]),
                    np.array([i for i, _s, _p in kept], dtype=np.int64),
                    np.array([st if st is not None else i for i, st, _p in kept], dtype=np.int64),
                )
        return stacker

    def place(self, item_id: int, pdq: str | None, quality: int | None) -> int:
        return self.place_many([(item_id, pdq, quality)])[item_id]

    def place_many(self, items: Sequence[tuple[int, str | None, int | None]]) -> dict[int, int]:
        """The stack of each new item (id, PDQ, quality), in order; they are remembered. An item
        joins the stack of its nearest earlier item within the threshold (the smallest distance,
        then the smallest id), earlier in the batch or before it."""
        out = {item_id: item_id for item_id, _p, _q in items}
        usable = [(i, p) for i, p, q in items if p is not None and q is not None and q >= self.quality_min]
        if not usable:
            return out
        ids = np.array([i for i, _p in usable], dtype=np.int64)
        stacks = self._grow(len(ids)).place(hex_to_bytes([p for _i, p in usable]), ids)
        out.update(zip(ids.tolist(), stacks.tolist(), strict=True))
        return out


#: a case's stacking moves from the flat search to multi-index hashing at this many items
MIH_FROM = 20_000
#: rows read at a time when loading a case's stacks
_CHUNK = 10_000
