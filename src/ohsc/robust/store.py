"""Robust descriptors in the store, and the matcher-side view of robust banks."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ohsc.robust import hashes
from ohsc.robust.descriptor import Query, RobustDescriptor
from ohsc.robust.search import RobustHit, RobustIndex, search
from ohsc.robust.tables import RobustDescriptorRow
from ohsc.store.db import Store
from ohsc.store.models import BankRow, EntryRow


def save(s: Session, entry_id: int, bank_id: int, descriptor: RobustDescriptor) -> None:
    """Keep (or replace) the descriptor of one entry, in the caller's transaction."""
    s.execute(delete(RobustDescriptorRow).where(RobustDescriptorRow.entry_id == entry_id))
    s.add(
        RobustDescriptorRow(
            entry_id=entry_id,
            bank_id=bank_id,
            views=descriptor.hashes.tobytes(),
            data=descriptor.to_bytes(),
        )
    )


def load(store: Store, entry_ids: Sequence[int]) -> dict[int, RobustDescriptor]:
    with store.session() as s:
        rows = s.execute(
            select(RobustDescriptorRow.entry_id, RobustDescriptorRow.data).where(
                RobustDescriptorRow.entry_id.in_(list(entry_ids))
            )
        )
        return {int(i): RobustDescriptor.from_bytes(bytes(data)) for i, data in rows}


def described(store: Store, entry_ids: Iterable[int]) -> set[int]:
    """Which of these entries have a robust descriptor."""
    wanted = list(entry_ids)
    if not wanted:
        return set()
    with store.session() as s:
        return set(
            s.scalars(select(RobustDescriptorRow.entry_id).where(RobustDescriptorRow.entry_id.in_(wanted)))
        )


def count(s: Session, bank_id: int) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(RobustDescriptorRow)
            .where(RobustDescriptorRow.bank_id == bank_id)
        )
        or 0
    )


def _live(store: Store) -> tuple[tuple[int, ...], int, int]:
    """What the candidate index depends on: robust banks that are on, the entries' change counter
    and the number of descriptors."""
    with store.session() as s:
        banks = tuple(
            s.scalars(select(BankRow.id).where(BankRow.robust.is_(True), BankRow.enabled.is_(True)))
        )
        seq = s.scalar(select(func.max(EntryRow.seq))) or 0
        n = s.scalar(select(func.count()).select_from(RobustDescriptorRow)) or 0
    return banks, int(seq), int(n)


class RobustBanks:
    """The candidate index of every robust bank's live entries, rebuilt from the store when banks or
    entries change (:meth:`refresh`), and the two-stage search against it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.index = RobustIndex()
        self._state: tuple[tuple[int, ...], int, int] | None = None
        self._lock = threading.Lock()
        self.refresh()

    @property
    def active(self) -> bool:
        """Whether any robust bank is on (queries need a :class:`Query` only then)."""
        return bool(self._state and self._state[0])

    def refresh(self) -> bool:
        """Reload view hashes if banks or entries changed. Returns whether it did."""
        with self._lock:
            state = _live(self.store)
            if state == self._state:
                return False
            index = RobustIndex()
            if state[0]:
                with self.store.session() as s:
                    rows = s.execute(
                        select(RobustDescriptorRow.entry_id, RobustDescriptorRow.views)
                        .join(EntryRow, EntryRow.id == RobustDescriptorRow.entry_id)
                        .where(RobustDescriptorRow.bank_id.in_(state[0]), EntryRow.retracted_at.is_(None))
                    )
                    shape = (len(hashes.INDEX_VIEWS), hashes.HASH_BYTES)
                    index.add_many(
                        (int(i), np.frombuffer(bytes(v), np.uint8).reshape(shape)) for i, v in rows
                    )
            self.index, self._state = index, state
            return True

    def search(self, query: Query, thresholds: Mapping[int, int] | None = None) -> list[RobustHit]:
        threshold = min(thresholds.values(), default=31) if thresholds else 31
        return search(self.index, query, lambda ids: load(self.store, ids), threshold=threshold)
