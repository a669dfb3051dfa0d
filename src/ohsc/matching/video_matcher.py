"""Matching a video's vPDQ against every bank's videos, under each bank's rules.

Used by :class:`ohsc.matching.Matcher` for the ``vpdq`` signal: the frame index finds bank
videos sharing frames with the query (within the largest threshold any enabled bank uses); each
is then scored with its own bank's threshold (:func:`ohsc.matching.video_rules.score`).
"""

from __future__ import annotations

from collections.abc import Mapping

from ohsc.banks.service import BankService
from ohsc.errors import InvalidSignalError
from ohsc.index.manager import IndexSet
from ohsc.index.vpdq_index import VpdqIndex
from ohsc.matching.model import BankRule, Match, MatchOutcome
from ohsc.matching.video_rules import QueryVideo, VideoRules, score
from ohsc.settings import Settings
from ohsc.signals.vpdq_frames import FrameArrays, is_vpdq_id, parse_vpdq
from ohsc.signals.vpdq_store import load_frames
from ohsc.store.db import Store


class VideoMatcher:
    def __init__(self, store: Store, settings: Settings, indexes: IndexSet, banks: BankService) -> None:
        self.store = store
        self.settings = settings
        self.indexes = indexes
        self.banks = banks
        self.rules = VideoRules.from_settings(settings)

    def query_frames(self, value: str) -> FrameArrays:
        """The frames of a vPDQ value, or of a vPDQ id the store holds."""
        if is_vpdq_id(value):
            ref = value.strip().lower()
            with self.store.session() as s:
                found = load_frames(s, [ref])
            if ref not in found:
                raise InvalidSignalError(f"vpdq: this store has no frames for {ref}")
            return found[ref]
        return FrameArrays.from_frames(parse_vpdq(value))

    def match(
        self, value: str, rules: Mapping[int, BankRule], radius: int, outcome: MatchOutcome
    ) -> list[Match]:
        """Bank videos that match, allowlist or not (the caller applies allowlists)."""
        index = self.indexes.get("vpdq")
        query = QueryVideo.build(self.query_frames(value), self.rules.quality_min)
        if query.low_quality:
            outcome.low_quality = True
        if not isinstance(index, VpdqIndex) or not query.slots:
            return []
        candidates = index.search(query.codes, radius, query.owners)
        if not candidates:
            return []
        entries = self.banks.entries_by_id(candidates)
        found: list[Match] = []
        for entry_id, pairs in candidates.items():
            entry = entries.get(entry_id)
            video = index.video(entry_id)
            if entry is None or entry.retracted or video is None:
                continue  # deleted or retracted since the index last synced
            rule = rules.get(entry.bank_id)
            if rule is None or not rule.enabled:
                continue
            info = score(query, video, pairs, rule.threshold, self.rules)
            if info is None:
                continue
            distance = int(pairs[2][pairs[2] <= rule.threshold].min())
            found.append(Match.of_entry(entry, rule, distance=distance, threshold=rule.threshold, video=info))
        return found
