"""What the evidence service returns: metadata only, never content."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ohsc.evidence.tables import EvidenceHoldRow, EvidenceItemRow


@dataclass(frozen=True, slots=True)
class Hold:
    id: int
    item_id: int
    reason: str
    reference: str | None
    placed_by: str
    placed_at: datetime
    until: datetime | None
    released_at: datetime | None
    released_by: str | None

    @property
    def active(self) -> bool:
        return self.released_at is None

    @classmethod
    def from_row(cls, row: EvidenceHoldRow) -> Hold:
        return cls(
            id=row.id,
            item_id=row.item_id,
            reason=row.reason,
            reference=row.reference,
            placed_by=row.placed_by,
            placed_at=row.placed_at,
            until=row.until,
            released_at=row.released_at,
            released_by=row.released_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item_id": self.item_id,
            "reason": self.reason,
            "reference": self.reference,
            "placed_by": self.placed_by,
            "placed_at": self.placed_at.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "released_by": self.released_by,
        }


def expiry(retain_until: datetime, holds: list[Hold]) -> tuple[datetime | None, bool]:
    """When an item may be purged (None: held until released) and whether a hold extends it."""
    active = [h for h in holds if h.active]
    if any(h.until is None for h in active):
        return None, True
    ends = [h.until for h in active if h.until is not None]
    latest = max([retain_until, *ends])
    return latest, latest != retain_until


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    id: int
    source_key: str
    subject_type: str
    subject_id: str
    kind: str
    sha256: str
    size: int
    facts: dict[str, Any]
    jurisdictions: tuple[str, ...]
    retention_days: int
    preserved_at: datetime
    preserved_by: str
    retain_until: datetime
    purged_at: datetime | None
    holds: tuple[Hold, ...] = field(default=())

    @property
    def purged(self) -> bool:
        return self.purged_at is not None

    @property
    def expires_at(self) -> datetime | None:
        """The end of the retention period or of the longest active hold (None: held indefinitely)."""
        return expiry(self.retain_until, list(self.holds))[0]

    @property
    def held(self) -> bool:
        return any(h.active for h in self.holds)

    def due(self, now: datetime) -> bool:
        end = self.expires_at
        return not self.purged and end is not None and end <= now

    @classmethod
    def from_row(cls, row: EvidenceItemRow) -> EvidenceItem:
        return cls(
            id=row.id,
            source_key=row.source_key,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            kind=row.kind,
            sha256=row.sha256,
            size=row.size,
            facts=dict(row.facts or {}),
            jurisdictions=tuple(row.jurisdictions or ()),
            retention_days=row.retention_days,
            preserved_at=row.preserved_at,
            preserved_by=row.preserved_by,
            retain_until=row.retain_until,
            purged_at=row.purged_at,
            holds=tuple(Hold.from_row(h) for h in row.holds),
        )

    def to_dict(self) -> dict[str, Any]:
        end = self.expires_at
        return {
            "id": self.id,
            "source_key": self.source_key,
            "subject": f"{self.subject_type}:{self.subject_id}",
            "kind": self.kind,
            "sha256": self.sha256,
            "size": self.size,
            "facts": self.facts,
            "jurisdictions": list(self.jurisdictions),
            "retention_days": self.retention_days,
            "preserved_at": self.preserved_at.isoformat(),
            "preserved_by": self.preserved_by,
            "retain_until": self.retain_until.isoformat(),
            "expires_at": end.isoformat() if end else None,
            "held": self.held,
            "purged_at": self.purged_at.isoformat() if self.purged_at else None,
            "holds": [h.to_dict() for h in self.holds],
        }


@dataclass(frozen=True, slots=True)
class Sealed:
    """Content written encrypted to the blob store, whose row is not yet added
    (:meth:`ohsc.evidence.service.EvidenceService.seal`)."""

    source_key: str
    subject_type: str
    subject_id: str
    kind: str
    blob_id: str
    sha256: str
    size: int
    facts: dict[str, Any]
    jurisdictions: list[str]
    retention_days: int
    preserved_at: datetime
