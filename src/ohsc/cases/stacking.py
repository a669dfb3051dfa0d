"""Near-duplicate stacks through the PDQ index, never pairwise loops.

New items are placed a batch at a time: one range search of the whole batch against the case's
index (faiss ``IndexBinaryFlat``, the flat segment of :mod:`ohsc.index.pdq_index`), one of the
batch against itself, then each item, in order, joins the stack of its nearest earlier item within
the case's threshold, or starts a stack of its own. Items whose PDQ quality is below
``OHSC_PDQ_QUALITY_MIN`` (flat pictures, where every hash is alike) stay alone.
"""

from __future__ import annotations

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
    def __init__(self, threshold: int, quality_min: int) -> None:
        self.threshold = threshold
        self.quality_min = quality_min
        self.segment = FlatSegment()
        self.stack_of: dict[int, int] = {}

    @classmethod
    def load(cls, session: Session, case_id: int, threshold: int, quality_min: int) -> Stacker:
        """A stacker holding the case's stacked items (to go on where an ingest stopped)."""
        stacker = cls(threshold, quality_min)
        labels: list[int] = []
        values: list[str] = []
        rows = session.execute(
            select(CaseItemRow.id, CaseItemRow.stack_id, CaseItemRow.pdq).where(
                CaseItemRow.case_id == case_id,
                CaseItemRow.pdq.is_not(None),
                CaseItemRow.pdq_quality >= quality_min,
            )
        )
        for item_id, stack_id, pdq in rows:
            if pdq is None:
                continue
            labels.append(item_id)
            values.append(pdq)
            stacker.stack_of[item_id] = stack_id if stack_id is not None else item_id
        if labels:
            stacker.segment.add(hex_to_bytes(values), np.array(labels, dtype=np.int64))
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
        labels = self.segment.labels
        for q, item_id in enumerate(ids.tolist()):
            best: tuple[int, int] | None = None
            for dist, pos in known[q]:
                cand = (dist, int(labels[pos]))
                best = cand if best is None or cand < best else best
            for dist, pos in among[q]:
                if pos < q:  # earlier in this batch
                    cand = (dist, int(ids[pos]))
                    best = cand if best is None or cand < best else best
            stack = item_id if best is None else self.stack_of.get(best[1], best[1])
            self.stack_of[item_id] = stack
            out[item_id] = stack
        self.segment.add(codes, ids)
        return out
