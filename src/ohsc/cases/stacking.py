"""Near-duplicate stacks through the PDQ index, never pairwise loops.

New items are placed a batch at a time: one range search of the whole batch against the case's
index (faiss ``IndexBinaryFlat``, the flat segment of :mod:`ohsc.index.pdq_index`), one of the
batch against itself, then each item, in order, joins the stack of its nearest earlier item within
the case's threshold, or starts a stack of its own. Items whose PDQ quality is below
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


class Stacker:
    """The case's stackable items: their PDQ codes in a flat index and, position for position,
    the stack of each (8 bytes an item; no dictionary of Python integers)."""

    def __init__(self, threshold: int, quality_min: int) -> None:
        self.threshold = threshold
        self.quality_min = quality_min
        self.segment = FlatSegment()
        #: the stack of the item at each position of ``segment``
        self.stacks = array("q")

    @classmethod
    def load(cls, session: Session, case_id: int, threshold: int, quality_min: int) -> Stacker:
        """A stacker holding the case's stacked items (to go on where an ingest stopped); read a
        chunk at a time."""
        stacker = cls(threshold, quality_min)
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
                stacker.segment.add(
                    hex_to_bytes([p for _i, _s, p in kept]),
                    np.array([i for i, _s, _p in kept], dtype=np.int64),
                )
                stacker.stacks.extend(st if st is not None else i for i, st, _p in kept)
        return stacker

    def place(self, item_id: int, pdq: str | None, quality: int | None) -> int:
        return self.place_many([(item_id, pdq, quality)])[item_id]

    def place_many(self, items: Sequence[tuple[int, str | None, int | None]]) -> dict[int, int]:
        """The stack of each new item (id, PDQ, quality), in order; they are remembered."""
        out = {item_id: item_id for item_id, _p, _q in items}
        usable = [(i, p) for i, p, q in items if p is not None and q is not None and q >= self.quality_min]
        if not usable:
            return out
        ids = np.array([i for i, _p in usable], dtype=np.int64)
        codes = hex_to_bytes([p for _i, p in usable])
        known = _range(self.segment.index, codes, self.threshold)
        batch = faiss.IndexBinaryFlat(256)
        batch.add(codes)
        among = _range(batch, codes, self.threshold)
        labels, stacks = self.segment.labels, self.stacks
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
            stack = item_id if best is None else best[2]
            placed.append(stack)
            out[item_id] = stack
        self.segment.add(codes, ids)
        self.stacks.extend(placed)
        return out


#: rows read at a time when loading a case's stacks
_CHUNK = 10_000
