"""Apply bank rules to index hits: per-bank thresholds, allowlists, quality floor, dihedral."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import select

from ohsc.banks.service import BankService
from ohsc.index import threads as index_threads
from ohsc.index.manager import IndexSet, SyncResult
from ohsc.matching.model import BankRule, Match, MatchOutcome
from ohsc.settings import Settings
from ohsc.signals import alias_signal_types, get_signal_type
from ohsc.store.db import Store
from ohsc.store.models import BankRow

if TYPE_CHECKING:
    from ohsc.matching.video_matcher import VideoMatcher


class Matcher:
    """Match signals against all banks. Call :meth:`refresh` to pick up bank and entry changes."""

    def __init__(self, store: Store, settings: Settings, indexes: IndexSet) -> None:
        self.store = store
        self.settings = settings
        self.indexes = indexes
        self.banks = BankService(store, settings)
        self._rules: dict[int, BankRule] = {}
        self._lock = threading.Lock()
        self._video_matcher: VideoMatcher | None = None
        self.refresh_banks()

    @classmethod
    def open(cls, store: Store, settings: Settings) -> Matcher:
        index_threads.configure(
            index_threads.effective_threads(settings.index_threads, settings.server_workers)
        )
        return cls(store, settings, IndexSet.open(store, settings.index_dir))

    def refresh_banks(self) -> None:
        with self.store.session() as s:
            rules = {
                row.id: BankRule(
                    id=row.id,
                    name=row.name,
                    threshold=min(
                        row.threshold if row.threshold is not None else self.settings.pdq_threshold,
                        self.settings.pdq_max_threshold,
                    ),
                    allowlist=row.is_allowlist,
                    enabled=row.enabled,
                )
                for row in s.scalars(select(BankRow))
            }
        self._rules = rules

    def refresh(self) -> SyncResult:
        """Catch up with the store: bank settings and entry changes."""
        with self._lock:
            self.refresh_banks()
            return self.indexes.sync()

    def _video(self) -> VideoMatcher:
        from ohsc.matching.video_matcher import VideoMatcher

        if self._video_matcher is None:
            self._video_matcher = VideoMatcher(self.store, self.settings, self.indexes, self.banks)
        return self._video_matcher

    @property
    def radius(self) -> int:
        enabled = [r.threshold for r in self._rules.values() if r.enabled]
        return max(enabled, default=0)

    def match(
        self,
        signals: Mapping[str, str],
        *,
        pdq_quality: int | None = None,
        dihedral: Mapping[str, str] | None = None,
        approximate_dihedral_from_hash: bool = False,
        include_low_quality: bool = False,
    ) -> MatchOutcome:
        """Match one item's signals (``{"md5": ..., "pdq": ...}``).

        ``dihedral`` holds the 8 PDQ variants computed from the image; with only a hash,
        ``approximate_dihedral_from_hash`` derives them from the bits (see ``pdq_math``).
        """
        outcome = MatchOutcome()
        # label -> (distance, signal type, variant)
        hits: dict[int, tuple[int, str, str | None]] = {}
        radius = self.radius
        video_found: list[Match] = []
        for st_name, value in signals.items():
            if st_name == "vpdq":
                video_found = self._video().match(value, self._rules, radius, outcome)
                continue
            st = get_signal_type(st_name)
            if not st.is_distance:
                for name in (st_name, *alias_signal_types(st_name)):  # md5 finds video_md5 too
                    exact = self.indexes.get(name)
                    for hit in exact.query(value, 0) if exact is not None else ():
                        hits.setdefault(hit.label, (0, name, None))
                continue
            index = self.indexes.get(st_name)
            if index is None:
                continue
            if st_name == "pdq" and pdq_quality is not None and pdq_quality < self.settings.pdq_quality_min:
                outcome.low_quality = True
                if not include_low_quality:
                    continue
            variants: Mapping[str, str] = {"original": value}
            if dihedral:
                variants = dihedral
            elif approximate_dihedral_from_hash:
                from ohsc.signals.pdq_math import approximate_dihedral  # numba: only when asked

                variants = approximate_dihedral(value)
            for variant, v in variants.items():
                for hit in index.query(v, radius):
                    current = hits.get(hit.label)
                    if current is None or hit.distance < current[0]:
                        tag = variant if (dihedral or approximate_dihedral_from_hash) else None
                        hits[hit.label] = (hit.distance, st_name, tag)
        if not hits and not video_found:
            return outcome
        entries = self.banks.entries_by_id(hits) if hits else {}
        found: list[Match] = video_found
        for label, (distance, _st, matched_variant) in hits.items():
            entry = entries.get(label)
            if entry is None or entry.retracted:
                continue  # deleted or retracted since the index last synced
            rule = self._rules.get(entry.bank_id)
            if rule is None or not rule.enabled:
                continue
            threshold = rule.threshold if get_signal_type(entry.signal_type).is_distance else 0
            if distance > threshold:
                continue
            found.append(
                Match.of_entry(entry, rule, distance=distance, threshold=threshold, variant=matched_variant)
            )
        found.sort(key=lambda m: (m.distance, m.bank_name, m.entry_id))
        outcome.allowlisted = [m for m in found if m.allowlist]
        others = [m for m in found if not m.allowlist]
        if outcome.allowlisted:
            outcome.suppressed = others
        else:
            outcome.matches = others
        return outcome
