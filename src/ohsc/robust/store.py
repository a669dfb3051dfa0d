"""Robust descriptors in the store, and the matcher-side view of robust banks."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ohsc.robust import postings
from ohsc.robust.descriptor import Query, RobustDescriptor
from ohsc.robust.search import RobustHit, RobustIndex, search
from ohsc.robust.tables import RobustDescriptorRow
from ohsc.store.db import Store, current_seq, next_seq
from ohsc.store.models import BankRow, EntryDeletion, EntryRow


def save(s: Session, entry_id: int, bank_id: int, descriptor: RobustDescriptor) -> None:
    """Keep (or replace) the descriptor of one entry, in the caller's transaction. The entry takes
    a new change number, so running matchers pick the descriptor up at their next refresh."""
    s.execute(delete(RobustDescriptorRow).where(RobustDescriptorRow.entry_id == entry_id))
    s.execute(update(EntryRow).where(EntryRow.id == entry_id).values(seq=next_seq(s, "entry_seq")))
    s.add(
        RobustDescriptorRow(
            entry_id=entry_id,
            bank_id=bank_id,
            views=descriptor.index_bytes(),
            data=descriptor.to_bytes(),
        )
    )


def load(store: Store, entry_ids: Sequence[int]) -> dict[int, RobustDescriptor]:
    with store.session() as s:
        return _load(s, entry_ids)


def _load(s: Session, entry_ids: Sequence[int]) -> dict[int, RobustDescriptor]:
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


def _robust_banks(s: Session) -> tuple[int, ...]:
    """Robust banks that are on (the candidate index holds their live entries)."""
    return tuple(
        sorted(s.scalars(select(BankRow.id).where(BankRow.robust.is_(True), BankRow.enabled.is_(True))))
    )


def _index_items(
    s: Session, rows: Iterable[tuple[int, bytes]]
) -> list[tuple[int, npt.NDArray[np.uint8], postings.Keys | None]]:
    """(entry id, view hashes, features' keys) of stored index rows; the keys of rows stored before
    the feature index existed are computed from their descriptors."""
    items = [(int(i), *RobustDescriptor.index_of(bytes(v))) for i, v in rows]
    old = [i for i, _, keys in items if keys is None]
    if old:
        derived = {i: d.keys() for i, d in _load(s, old).items()}
        items = [(i, h, derived.get(i) if keys is None else keys) for i, h, keys in items]
    return items


class RobustBanks:
    """The candidate index of every robust bank's live entries and the two-stage search against it.
    :meth:`refresh` applies entry changes since the last one (by the entries' change counter, like
    the PDQ indexes); only a change of which banks are robust and on reloads it all."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.index = RobustIndex()
        self._banks: tuple[int, ...] | None = None
        self._seq = 0
        self._lock = threading.Lock()
        #: Full reloads and incremental refreshes so far (what tests check).
        self.reloads = 0
        self.updates = 0
        self.refresh()

    @property
    def active(self) -> bool:
        """Whether any robust bank is on (queries need a :class:`Query` only then)."""
        return bool(self._banks)

    def refresh(self) -> bool:
        """Catch up with the store. Returns whether anything changed."""
        with self._lock, self.store.session() as s:
            banks = _robust_banks(s)
            if banks != self._banks:
                self._reload(s, banks)
                return True
            return self._update(s)

    def _reload(self, s: Session, banks: tuple[int, ...]) -> None:
        seq = current_seq(s, "entry_seq")  # before reading: later changes are applied next time
        index = RobustIndex()
        if banks:
            rows = s.execute(
                select(RobustDescriptorRow.entry_id, RobustDescriptorRow.views)
                .join(EntryRow, EntryRow.id == RobustDescriptorRow.entry_id)
                .where(RobustDescriptorRow.bank_id.in_(banks), EntryRow.retracted_at.is_(None))
            )
            index.add_many(_index_items(s, [(int(i), bytes(v)) for i, v in rows]))
        self.index, self._banks, self._seq = index, banks, seq
        self.reloads += 1

    def _update(self, s: Session) -> bool:
        changed = s.execute(
            select(
                EntryRow.id, EntryRow.seq, EntryRow.bank_id, EntryRow.retracted_at, RobustDescriptorRow.views
            )
            .outerjoin(RobustDescriptorRow, RobustDescriptorRow.entry_id == EntryRow.id)
            .where(EntryRow.seq > self._seq)
        ).all()
        deleted = s.execute(
            select(EntryDeletion.entry_id, EntryDeletion.seq).where(EntryDeletion.seq > self._seq)
        ).all()
        if not changed and not deleted:
            return False
        banks = set(self._banks or ())
        live = [
            (int(r.id), bytes(r.views))
            for r in changed
            if r.views is not None and r.retracted_at is None and r.bank_id in banks
        ]
        kept = {i for i, _ in live}
        self.index.remove(
            [int(r.id) for r in changed if int(r.id) not in kept] + [int(d.entry_id) for d in deleted]
        )
        self.index.add_many(_index_items(s, live))
        self._seq = max([self._seq, *(int(r.seq) for r in changed), *(int(d.seq) for d in deleted)])
        self.updates += 1
        return True

    def search(self, query: Query, thresholds: Mapping[int, int] | None = None) -> list[RobustHit]:
        threshold = min(thresholds.values(), default=31) if thresholds else 31
        return search(self.index, query, lambda ids: load(self.store, ids), threshold=threshold)
