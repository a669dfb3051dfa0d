"""Near-duplicate stacks through the PDQ index, never pairwise loops.

Every new item with a usable PDQ hash is looked up in an index of the case's items: the nearest
one within the case's threshold gives its stack; with none, the item starts a stack of its own.
Items whose PDQ quality is below ``OHSC_PDQ_QUALITY_MIN`` (flat pictures, where every hash is
alike) stay alone.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ohsc.cases.models import CaseItemRow
from ohsc.index.codes import hex_to_bytes
from ohsc.index.pdq_index import PdqIndex


class Stacker:
    def __init__(self, threshold: int, quality_min: int) -> None:
        self.threshold = threshold
        self.quality_min = quality_min
        self.index = PdqIndex("pdq")
        self.stack_of: dict[int, int] = {}
        self._since_compact = 0

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
            stacker.index.add(labels, values)
            stacker.index.compact()
        return stacker

    def place(self, item_id: int, pdq: str | None, quality: int | None) -> int:
        """The stack of a new item (and remember it for the next ones)."""
        if pdq is None or quality is None or quality < self.quality_min:
            return item_id
        hits = self.index.query(pdq, self.threshold)
        stack = item_id
        if hits:
            best = min(hits, key=lambda h: (h.distance, h.label))
            stack = self.stack_of.get(best.label, best.label)
        self.index.add_codes(np.array([item_id], dtype=np.int64), hex_to_bytes([pdq]))
        self.stack_of[item_id] = stack
        self._since_compact += 1
        if self._since_compact >= 2048 and self.index.needs_compaction():
            self.index.compact()
            self._since_compact = 0
        return stack
