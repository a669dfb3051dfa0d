"""What a match says."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ohsc.banks.model import BankEntry, SourceRecord
    from ohsc.matching.video_rules import VideoMatchInfo


@dataclass(frozen=True, slots=True)
class BankRule:
    """What a bank says about its matches: threshold, allowlist, on or off."""

    id: int
    name: str
    threshold: int
    allowlist: bool
    enabled: bool


@dataclass(frozen=True, slots=True)
class Match:
    bank_id: int
    bank_name: str
    entry_id: int
    external_id: str | None
    signal_type: str
    value: str
    distance: int
    threshold: int
    category: str | None
    labels: tuple[str, ...]
    source: str
    allowlist: bool
    #: For dihedral matching: which rotation/flip of the query matched ("original" otherwise).
    variant: str | None = None
    #: For vPDQ: shares of frames matched both ways and the matched time ranges.
    video: VideoMatchInfo | None = None
    #: Every live source record that lists the entry (who says this hash is known, under which id).
    sources: tuple[SourceRecord, ...] = ()

    @classmethod
    def of_entry(
        cls,
        entry: BankEntry,
        rule: BankRule,
        *,
        distance: int,
        threshold: int,
        variant: str | None = None,
        video: VideoMatchInfo | None = None,
    ) -> Match:
        """A match of a bank entry under its bank's rule."""
        return cls(
            bank_id=entry.bank_id,
            bank_name=rule.name,
            entry_id=entry.id,
            external_id=entry.external_id,
            signal_type=entry.signal_type,
            value=entry.value,
            distance=distance,
            threshold=threshold,
            category=entry.category,
            labels=entry.labels,
            source=entry.source,
            allowlist=rule.allowlist,
            variant=variant,
            video=video,
            sources=entry.live_sources,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank_name,
            "bank_id": self.bank_id,
            "entry_id": self.entry_id,
            "external_id": self.external_id,
            "signal_type": self.signal_type,
            "value": self.value,
            "distance": self.distance,
            "threshold": self.threshold,
            "category": self.category,
            "labels": list(self.labels),
            "source": self.source,
            "allowlist": self.allowlist,
            "variant": self.variant,
            "sources": [
                {
                    "source": r.source,
                    "external_id": r.external_id,
                    "category": r.category,
                    "labels": list(r.labels),
                }
                for r in self.sources
            ],
            **({"video": self.video.to_dict()} if self.video is not None else {}),
        }


@dataclass(slots=True)
class MatchOutcome:
    """Result of matching one piece of content's signals against every bank."""

    matches: list[Match] = field(default_factory=list)
    #: Matches hidden because an allowlist bank matched too.
    suppressed: list[Match] = field(default_factory=list)
    #: The allowlist matches themselves.
    allowlisted: list[Match] = field(default_factory=list)
    #: The PDQ hash was below the quality floor and was not matched.
    low_quality: bool = False

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "matches": [m.to_dict() for m in self.matches],
            "suppressed": [m.to_dict() for m in self.suppressed],
            "allowlisted": [m.to_dict() for m in self.allowlisted],
            "low_quality": self.low_quality,
        }
