"""Request and response shapes of API v1 (stable: fields are added, never renamed or removed)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ohsc.actions.webhooks import Webhook
from ohsc.banks.model import BankEntry
from ohsc.content.matchlog import MatchFields
from ohsc.review.model import DecisionRecord

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last.")


class ProblemOut(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str = Field(examples=["urn:ohsc:problem:bank_not_found"])
    title: str
    status: int
    detail: str
    instance: str
    code: str


# --- hashing and matching ----------------------------------------------------------------------


class HashOut(BaseModel):
    signals: dict[str, str] = Field(description="Signal type -> value (md5, sha1, sha256, pdq, ...).")
    pdq_quality: int | None
    pdq_dihedral: dict[str, str] | None = None
    vpdq: list[dict[str, Any]] | None = Field(
        default=None, description="Videos: sampled frames, each {frame, timestamp, pdq, quality}."
    )
    video: dict[str, Any] | None = Field(
        default=None, description="Videos: duration, frame rate, size, sampling."
    )
    kind: str
    format: str | None
    size: int | None
    error: str | None = Field(description="What could not be computed (the digests always are).")


class MatchIn(BaseModel):
    """Match by signals only (hash-only mode: no media leaves the platform) or by URL."""

    model_config = ConfigDict(extra="forbid")

    content_id: str | None = Field(
        default=None, max_length=200, description="Your id for the content: repeating it replays the answer."
    )
    signals: dict[str, str] | None = Field(
        default=None, description='Signal type -> value, e.g. {"pdq": "<64 hex>", "md5": "<32 hex>"}.'
    )
    pdq_quality: int | None = Field(default=None, ge=0, le=100, description="PDQ quality, if you know it.")
    url: str | None = Field(default=None, max_length=4000, description="Fetch the media (when enabled).")
    dihedral: bool = Field(default=False, description="Also match rotated and mirrored copies.")


class MatchSourceOut(BaseModel):
    """A live source record that lists the matched entry."""

    source: str = Field(
        description="import, file, manual, api, review, exchange:<name>, or an import's --source."
    )
    external_id: str | None = Field(description="The source's own id for the record.")
    category: str | None
    labels: list[str]


class MatchOut(BaseModel):
    match_id: int | None
    bank: str
    bank_id: int
    entry_id: int
    external_id: str | None
    signal_type: str
    value: str
    distance: int
    threshold: int
    category: str | None
    labels: list[str]
    source: str
    allowlist: bool
    variant: str | None
    verdict: str
    flood_controlled: bool
    sources: list[MatchSourceOut] = Field(
        default_factory=list,
        description="Every live source record listing the entry (several sources may list one hash).",
    )


class ContentRef(BaseModel):
    id: int = Field(description="OHSC's content record id.")
    content_id: str | None = Field(description="Your id, as given.")
    submitted_at: str


class MatchResponse(BaseModel):
    content: ContentRef
    verdict: Literal["block", "review", "allow", "none"]
    matched: bool
    matches: list[MatchOut]
    allowlisted: list[MatchOut]
    suppressed: int = Field(description="Matches hidden because an allowlist bank matched too.")
    review_item_id: int | None
    low_quality: bool
    flood_controlled: bool
    signals: dict[str, str]
    replayed: bool = Field(description="True when this answers a repeated content_id.")
    hash_error: str | None


# --- banks ---------------------------------------------------------------------------------------


class BankIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    threshold: int | None = Field(default=None, ge=0, le=256)
    allowlist: bool = False
    description: str = Field(default="", max_length=10_000)
    robust: bool = Field(
        default=False,
        description="Robust matching: pictures added keep view hashes and local features, so crops, "
        "borders, caption bars, small rotations and mirror images are found (docs/signals.md).",
    )


class BankPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    threshold: int | None = Field(default=None, ge=0, le=256)
    default_threshold: bool = Field(default=False, description="Go back to the default threshold.")
    allowlist: bool | None = None
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=10_000)
    robust: bool | None = Field(
        default=None, description="Turn robust matching on or off; entries already there stay hash-only."
    )


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signal_type: str
    value: str
    category: str | None = Field(default=None, max_length=100)
    labels: list[str] = Field(default_factory=list)
    external_id: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=10_000)
    quality: int | None = Field(default=None, ge=0, le=100)


class EntriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[EntryIn] = Field(min_length=1, max_length=10_000)


class RowErrorOut(BaseModel):
    line: int | None
    message: str


class ImportReportOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    retracted: int
    kept_retracted: int
    unknown_withdrawals: int
    invalid: int
    errors: list[RowErrorOut]
    notes: list[str]
    failed_files: list[RowErrorOut] = Field(default_factory=list)


class RetractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class EntriesChanged(BaseModel):
    entries: list[BankEntry]


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    two_person_review: bool | None = None
    flood_max_matches: int | None = Field(default=None, ge=0)
    flood_window_seconds: int | None = Field(default=None, ge=1)
    keep_thumbnails: bool | None = None
    default_flood: bool = Field(default=False, description="Go back to the default flood limits.")


# --- rules ---------------------------------------------------------------------------------------

VerdictName = Literal["block", "review", "allow"]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank: str | None = Field(default=None, description="Bank name or id; null: every bank.")
    category: str | None = Field(default=None, max_length=100, description="Null: every category.")
    verdict: VerdictName
    review: bool | None = Field(default=None, description="Queue for review (default: unless allow).")
    notify: bool = Field(default=True, description="Send match.created to webhooks.")
    report: bool = Field(default=False, description="After a confirmed review, ask for a report draft.")


class RulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: VerdictName | None = None
    review: bool | None = None
    notify: bool | None = None
    report: bool | None = None


# --- review --------------------------------------------------------------------------------------


class ReviewContentRef(BaseModel):
    id: int
    content_id: str | None
    received_at: str | None = None


class MediaState(BaseModel):
    held: bool
    kind: str | None
    format: str | None
    purged: bool
    size: int | None = None


class ReviewItemOut(BaseModel):
    id: int
    content: ReviewContentRef
    status: str
    priority: int
    reason: str
    verdict: str
    banks: list[str]
    categories: list[str]
    best_distance: int
    two_person: bool
    report_requested: bool
    claimed: bool
    claimed_by: int | None
    claim_expires_at: str | None
    first_confirmed_by: str | None
    decision: str | None
    decided_by: str | None
    decided_at: str | None
    created_at: str | None
    media: MediaState


class ReviewMatchOut(MatchFields):
    reference_thumbnail: bool


class ReviewDetailOut(ReviewItemOut):
    claimed_by_name: str | None = None
    matches: list[ReviewMatchOut]
    decisions: list[DecisionRecord]
    signals: dict[str, str]
    viewed_unblurred: bool


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "not_abuse", "escalate"]
    note: str | None = Field(default=None, max_length=5000)
    add_to_bank: str | None = Field(
        default=None,
        description="confirm: add the content's hashes to this bank; not_abuse: to this allowlist bank.",
    )


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Why; shown in the item's history.")


# --- webhooks ------------------------------------------------------------------------------------


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=lambda: ["*"])
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="Generated if absent."
    )


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    event_types: list[str] | None = None


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret: shown once.")
