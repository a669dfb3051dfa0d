"""What the case service hands out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ohsc.cases.models import CaseRow


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    name: str
    description: str
    scheme: str
    stack_threshold: int
    agreement: int
    series_seconds: int
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, row: CaseRow) -> Case:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            scheme=row.scheme,
            stack_threshold=row.stack_threshold,
            agreement=row.agreement,
            series_seconds=row.series_seconds,
            created_by=row.created_by,
            created_at=row.created_at,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(slots=True)
class CaseStats:
    case: str
    scheme: str
    sources: int = 0
    #: files seen (every location)
    files: int = 0
    #: unique contents (items)
    unique: int = 0
    #: near-duplicate stacks (a lone item is a stack of one)
    stacks: int = 0
    #: stacks of more than one item
    multi_stacks: int = 0
    series: int = 0
    known: int = 0
    unknown: int = 0
    categorised: int = 0
    disputed: int = 0
    errors: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    by_analyst: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class IngestSummary:
    source: str
    kind: str
    files: int = 0
    new_items: int = 0
    duplicates: int = 0
    known: int = 0
    errors: int = 0
    resumed_skipped: int = 0
    replayed: int = 0
    series: int = 0
    elapsed: float = 0.0
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.files / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["elapsed_s"] = round(data.pop("elapsed"), 3)
        data["files_per_s"] = round(self.rate, 1)
        return data
