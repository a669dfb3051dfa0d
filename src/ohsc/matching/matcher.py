"""Apply bank rules to index hits: per-bank thresholds, allowlists, quality floor, dihedral."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
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
    from ohsc.banks.model import BankEntry
    from ohsc.matching.video_matcher import VideoMatcher
    from ohsc.robust.descriptor import Query
    from ohsc.robust.search import RobustHit
    from ohsc.robust.store import RobustBanks

#: What a match in a robust bank says when its entry has no descriptor (added as a hash).
HASH_ONLY = {"note": "hash-only entry: plain PDQ (no picture was described for robust matching)"}


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
        self._robust_banks: set[int] = set()
        self._robust: RobustBanks | None = None
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
            robust = set(s.scalars(select(BankRow.id).where(BankRow.robust.is_(True))))
        self._rules = rules
        self._robust_banks = robust
        if robust and self._robust is None:
            from ohsc.robust.store import RobustBanks  # OpenCV: only when a bank is robust

            self._robust = RobustBanks(self.store)
        elif self._robust is not None:
            self._robust.refresh()

    @property
    def robust_active(self) -> bool:
        """Whether a robust bank is on: then callers pass a :class:`~ohsc.robust.descriptor.Query`
        of each picture to :meth:`match` (see :func:`ohsc.robust.query_of`)."""
        return any(self._rules[b].enabled for b in self._robust_banks if b in self._rules)

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
        robust: Query | None = None,
    ) -> MatchOutcome:
        """Match one item's signals (``{"md5": ..., "pdq": ...}``).

        ``dihedral`` holds the 8 PDQ variants computed from the image; with only a hash,
        ``approximate_dihedral_from_hash`` derives them from the bits (see ``pdq_math``).
        ``robust``: the picture as robust banks look for it (crops, borders, captions, rotations).
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
        robust_hits = self._robust_search(robust, pdq_quality, include_low_quality)
        if not hits and not video_found and not robust_hits:
            return outcome
        wanted = set(hits) | {h.entry_id for h in robust_hits}
        entries = self.banks.entries_by_id(wanted) if wanted else {}
        found: list[Match] = video_found + self._entry_matches(hits, entries)
        found += self._robust_matches(found, robust_hits, entries)
        found.sort(key=lambda m: (m.distance, m.bank_name, m.entry_id))
        outcome.allowlisted = [m for m in found if m.allowlist]
        others = [m for m in found if not m.allowlist]
        if outcome.allowlisted:
            outcome.suppressed = others
        else:
            outcome.matches = others
        return outcome

    def _entry_matches(
        self, hits: Mapping[int, tuple[int, str, str | None]], entries: Mapping[int, BankEntry]
    ) -> list[Match]:
        """Index hits -> matches of live entries of enabled banks within their threshold."""
        found: list[Match] = []
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
            method = "pdq" if get_signal_type(entry.signal_type).is_distance else "exact"
            found.append(
                Match.of_entry(
                    entry,
                    rule,
                    distance=distance,
                    threshold=threshold,
                    variant=matched_variant,
                    method=method,
                )
            )
        return found

    def _robust_search(self, query: Query | None, quality: int | None, include_low: bool) -> list[RobustHit]:
        if query is None or self._robust is None or not self.robust_active:
            return []
        if quality is not None and quality < self.settings.pdq_quality_min and not include_low:
            return []
        thresholds = {b: self._rules[b].threshold for b in self._robust_banks if b in self._rules}
        return self._robust.search(query, thresholds)

    def _robust_matches(
        self, found: list[Match], hits: list[RobustHit], entries: Mapping[int, BankEntry]
    ) -> list[Match]:
        """Robust hits not already found by plain PDQ; plain PDQ matches in robust banks say
        whether their entry was described (a hash-only entry matches as plain PDQ only)."""
        plain = {m.entry_id for m in found}
        pdq_in_robust = [m for m in found if m.bank_id in self._robust_banks and m.method == "pdq"]
        if pdq_in_robust and self._robust is not None:
            from ohsc.robust.store import described

            have = described(self.store, [m.entry_id for m in pdq_in_robust])
            for k, m in enumerate(found):
                if m in pdq_in_robust and m.entry_id not in have:
                    found[k] = replace(m, robust=HASH_ONLY)
        extra: list[Match] = []
        for hit in hits:
            entry = entries.get(hit.entry_id)
            if hit.entry_id in plain or entry is None or entry.retracted:
                continue
            rule = self._rules.get(entry.bank_id)
            if rule is None or not rule.enabled or entry.bank_id not in self._robust_banks:
                continue
            extra.append(
                Match.of_entry(
                    entry,
                    rule,
                    distance=hit.distance,
                    threshold=rule.threshold,
                    method=hit.method,
                    robust=hit.to_dict(),
                )
            )
        return extra
