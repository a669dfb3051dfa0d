"""What a submission is and what the service answers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from ohsc.store.types import IsoTime


class ContentRecord(BaseModel):
    """What OHSC recorded for one submission (never the media), as ``GET /v1/content/{id}``
    shows it."""

    model_config = ConfigDict(frozen=True)

    id: int
    content_id: str | None
    source: str
    submitted_at: IsoTime
    verdict: str
    matched: bool
    media_kind: str | None
    media_held: bool
    media_purged: bool
    review_item_id: int | None


@dataclass(slots=True)
class Submission:
    """Content to match: its signals and, for uploads, the bytes (kept only if it goes to review)."""

    signals: dict[str, str]
    #: upload | signals | url
    source: str
    pdq_quality: int | None = None
    dihedral: dict[str, str] | None = None
    approximate_dihedral: bool = False
    media: bytes | None = None
    media_kind: str | None = None
    media_format: str | None = None
    size: int | None = None
    #: the caller's own id (idempotency key)
    client_ref: str | None = None
    api_key_id: int | None = None
    #: problems hashing the media (e.g. an undecodable image still has its digests)
    hash_error: str | None = None
    #: uploads of pictures when a bank is robust: the picture as robust banks look for it
    #: (:class:`ohsc.robust.descriptor.Query`; never stored)
    robust: Any = None

    def digest(self) -> str:
        """Fingerprint of the signals: a repeated ``content_id`` must carry the same content."""
        return hashlib.sha256(json.dumps(sorted(self.signals.items())).encode()).hexdigest()


@dataclass(slots=True)
class MatchResult:
    """The verdict for one submission, as the API returns it."""

    content_id: int
    client_content_id: str | None
    submitted_at: str
    verdict: str
    matches: list[dict[str, Any]] = field(default_factory=list)
    allowlisted: list[dict[str, Any]] = field(default_factory=list)
    suppressed: int = 0
    review_item_id: int | None = None
    low_quality: bool = False
    flood_controlled: bool = False
    signals: dict[str, str] = field(default_factory=dict)
    replayed: bool = False
    hash_error: str | None = None

    def stored(self) -> dict[str, Any]:
        """What is kept to answer a repeated ``content_id`` (no signals: they come with the request)."""
        return {
            "verdict": self.verdict,
            "matches": self.matches,
            "allowlisted": self.allowlisted,
            "suppressed": self.suppressed,
            "review_item_id": self.review_item_id,
            "low_quality": self.low_quality,
            "flood_controlled": self.flood_controlled,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": {
                "id": self.content_id,
                "content_id": self.client_content_id,
                "submitted_at": self.submitted_at,
            },
            "verdict": self.verdict,
            "matched": bool(self.matches),
            "matches": self.matches,
            "allowlisted": self.allowlisted,
            "suppressed": self.suppressed,
            "review_item_id": self.review_item_id,
            "low_quality": self.low_quality,
            "flood_controlled": self.flood_controlled,
            "signals": self.signals,
            "replayed": self.replayed,
            "hash_error": self.hash_error,
        }
