"""Keep one index per signal type in step with the store.

Every change that matters for matching stamps the entry with a new ``seq`` (see
:mod:`ohsc.store.models`); :meth:`IndexSet.sync` applies everything above the last ``seq`` it
saw, so an add or retraction is matchable in any process at its next sync, with no rebuild.
Index files under ``OHSC_HOME/index`` are a cache: missing, corrupt, from another store or too
far behind, they are rebuilt from the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ohsc.errors import IndexCorruptError, OhscError
from ohsc.index.base import SignalIndex
from ohsc.index.exact import ExactIndex
from ohsc.index.pdq_index import PdqIndex
from ohsc.index.persist import read_index, write_index
from ohsc.signals import get_signal_type
from ohsc.store.db import Store, current_seq
from ohsc.store.models import EntryDeletion, EntryRow

log = logging.getLogger(__name__)

SYNC_BATCH = 50_000
#: Save the files after a sync that applied at least this many changes.
SAVE_AFTER = 10_000


def new_index(signal_type: str) -> SignalIndex:
    """The index implementation for a signal type (a registry plug-ins add to)."""
    factory = INDEX_FACTORIES.get(signal_type)
    if factory is None:
        raise KeyError(signal_type)
    return factory()


def _vpdq_class() -> type[SignalIndex]:
    from ohsc.index.vpdq_index import VpdqIndex  # imported when first needed: keeps start-up light

    return VpdqIndex


INDEX_FACTORIES: dict[str, Callable[[], SignalIndex]] = {
    "md5": lambda: ExactIndex("md5", 16),
    "sha1": lambda: ExactIndex("sha1", 20),
    "sha256": lambda: ExactIndex("sha256", 32),
    "pdq": lambda: PdqIndex("pdq"),
    "video_md5": lambda: ExactIndex("video_md5", 16),
    "video_sha256": lambda: ExactIndex("video_sha256", 32),
    "vpdq": lambda: _vpdq_class()("vpdq"),
}

INDEX_CLASSES: dict[str, type[SignalIndex]] = {"exact": ExactIndex, "pdq": PdqIndex}
#: index kinds whose class is imported when first needed
LATE_INDEX_CLASSES: dict[str, Callable[[], type[SignalIndex]]] = {"vpdq": _vpdq_class}


@dataclass(slots=True)
class SyncResult:
    added: int = 0
    removed: int = 0
    seq: int = 0

    @property
    def changes(self) -> int:
        return self.added + self.removed


class IndexSet:
    """All indexes of a store. Thread-safe for queries while :meth:`sync` runs."""

    def __init__(
        self, store: Store, directory: Path | None, signal_types: tuple[str, ...] | None = None
    ) -> None:
        self.store = store
        self.directory = directory
        self.signal_types = signal_types or tuple(INDEX_FACTORIES)
        self.indexes: dict[str, SignalIndex] = {}
        self.applied_seq = 0
        self.loaded_from_files = False

    # --- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, store: Store, directory: Path | None, *, save: bool = True) -> IndexSet:
        """Load files (or rebuild), catch up with the store, and save if much changed."""
        started = time.monotonic()
        iset = cls(store, directory)
        rebuilt = not iset.load()
        if rebuilt:
            iset.indexes = iset._new_indexes()
            iset.applied_seq = 0
        result = iset.sync()
        if save and directory is not None and (rebuilt or result.changes >= SAVE_AFTER):
            iset.compact_if_needed()
            iset.save()
        log.info(
            "indexes ready: rebuilt=%s changes=%d seq=%d in %.2fs",
            rebuilt,
            result.changes,
            iset.applied_seq,
            time.monotonic() - started,
        )
        return iset

    def _new_indexes(self) -> dict[str, SignalIndex]:
        indexes = {st: new_index(st) for st in self.signal_types}
        for idx in indexes.values():
            idx.attach(self.store)
        return indexes

    def _path(self, signal_type: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{signal_type}.ohscidx"

    def load(self) -> bool:
        """Load every index file; False (and nothing loaded) if any is missing or unusable."""
        if self.directory is None:
            return False
        store_id = self.store.store_id
        loaded: dict[str, SignalIndex] = {}
        seqs: list[int] = []
        for st in self.signal_types:
            path = self._path(st)
            if not path.exists():
                return False
            try:
                f = read_index(path)
            except IndexCorruptError as exc:
                log.warning("index file unusable, rebuilding from the store: %s", exc)
                return False
            if f.meta.get("store_id") != store_id or f.signal_type != st:
                log.info("index file %s belongs to another store; rebuilding", path.name)
                return False
            cls = INDEX_CLASSES.get(f.kind)
            if cls is None and f.kind in LATE_INDEX_CLASSES:
                cls = LATE_INDEX_CLASSES[f.kind]()
            if cls is None:
                return False
            try:
                loaded[st] = cls.from_arrays(st, f.params, f.arrays)
            except (KeyError, ValueError, TypeError) as exc:
                log.warning("index file %s could not be loaded (%s); rebuilding", path.name, exc)
                return False
            seqs.append(int(f.meta.get("applied_seq", 0)))
        with self.store.session() as s:
            if min(seqs) > current_seq(s, "entry_seq"):
                log.info("index files are ahead of the store (restored backup?); rebuilding")
                return False
        for idx in loaded.values():
            idx.attach(self.store)
        self.indexes = loaded
        self.applied_seq = min(seqs)
        self.loaded_from_files = True
        return True

    def save(self) -> None:
        if self.directory is None:
            return
        meta = {"store_id": self.store.store_id, "applied_seq": self.applied_seq}
        for st, idx in self.indexes.items():
            params, arrays = idx.to_arrays()
            write_index(
                self._path(st), kind=idx.kind, signal_type=st, params=params, meta=meta, arrays=arrays
            )

    # --- keeping up ------------------------------------------------------------------------------

    def sync(self) -> SyncResult:
        """Apply every entry change and deletion since the last sync."""
        result = SyncResult(seq=self.applied_seq)
        while True:
            with self.store.session() as s:
                rows = s.execute(
                    select(
                        EntryRow.id, EntryRow.signal_type, EntryRow.value, EntryRow.retracted_at, EntryRow.seq
                    )
                    .where(EntryRow.seq > result.seq)
                    .order_by(EntryRow.seq)
                    .limit(SYNC_BATCH)
                ).all()
                deletions = s.execute(
                    select(EntryDeletion.entry_id, EntryDeletion.seq)
                    .where(EntryDeletion.seq > result.seq)
                    .order_by(EntryDeletion.seq)
                    .limit(SYNC_BATCH)
                ).all()
            if not rows and not deletions:
                break
            # only go as far as both lists are complete
            top = min(
                rows[-1].seq if len(rows) == SYNC_BATCH else float("inf"),
                deletions[-1].seq if len(deletions) == SYNC_BATCH else float("inf"),
            )
            adds: dict[str, tuple[list[int], list[str]]] = {}
            removes: dict[str, list[int]] = {}
            high = result.seq
            for row in rows:
                if row.seq > top:
                    break
                high = max(high, row.seq)
                if row.signal_type not in self.indexes:
                    continue
                if row.retracted_at is None:
                    labels, values = adds.setdefault(row.signal_type, ([], []))
                    labels.append(row.id)
                    values.append(row.value)
                else:
                    removes.setdefault(row.signal_type, []).append(row.id)
            deleted = [d.entry_id for d in deletions if d.seq <= top]
            high = max([high, *(d.seq for d in deletions if d.seq <= top)])
            for st, (labels, values) in adds.items():
                result.added += self._add_checked(st, labels, values)
            for st, labels in removes.items():
                self.indexes[st].remove(labels)
                result.removed += len(labels)
            if deleted:
                for idx in self.indexes.values():
                    idx.remove(deleted)
                result.removed += len(deleted)
            result.seq = high
            if top == float("inf"):
                break
        self.applied_seq = result.seq
        return result

    def _add_checked(self, signal_type: str, labels: list[int], values: list[str]) -> int:
        """Add a batch; a value that does not validate (written around the service, or damaged)
        is skipped and logged by entry id instead of failing the whole build."""
        index = self.indexes[signal_type]
        try:
            index.add(labels, values)
            return len(labels)
        except (OhscError, ValueError, TypeError):
            pass
        st = get_signal_type(signal_type)
        good_labels: list[int] = []
        good_values: list[str] = []
        for label, value in zip(labels, values, strict=True):
            try:
                good_values.append(st.validate(value))
                good_labels.append(label)
            except OhscError:
                log.warning("entry %d: invalid %s value skipped by the index", label, signal_type)
        index.add(good_labels, good_values)
        return len(good_labels)

    def compact_if_needed(self) -> bool:
        did = False
        for idx in self.indexes.values():
            if idx.needs_compaction():
                idx.compact()
                did = True
        return did

    def rebuild(self) -> SyncResult:
        """Forget everything and read the whole store again."""
        self.indexes = self._new_indexes()
        self.applied_seq = 0
        result = self.sync()
        for idx in self.indexes.values():
            idx.compact()
        return result

    def get(self, signal_type: str) -> SignalIndex | None:
        return self.indexes.get(signal_type)
