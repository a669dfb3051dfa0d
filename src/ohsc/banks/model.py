"""The bank domain: named hash lists with provenance, categories and retractions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ohsc.store.types import IsoTime


class EntrySource(StrEnum):
    """Where an entry came from. Values are storage keys."""

    MANUAL = "manual"
    FILE = "file"  # hashed from a media file (``ohsc bank add``)
    IMPORT = "import"  # read from a hash-list file
    EXCHANGE = "exchange"
    REVIEW = "review"
    API = "api"
    CASE = "case"  # confirmed in a triage case (``ohsc case push``)


class Bank(BaseModel):
    """A bank, as the library, the CLI (``--json``) and the API (``/v1/banks``) show it."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    id: int
    name: str
    description: str
    #: The distance threshold in force (the bank's own, or the default).
    threshold: int
    #: Whether the bank set its own threshold.
    threshold_is_default: bool
    is_allowlist: bool = Field(serialization_alias="allowlist")
    enabled: bool
    #: Robust matching (crops, borders, captions, small rotations): :mod:`ohsc.robust`.
    robust: bool = False
    active_entries: int
    retracted_entries: int
    created_at: IsoTime
    updated_at: IsoTime


class SourceRecord(BaseModel):
    """One source record listing an entry (see :class:`ohsc.store.models.EntrySourceRow`)."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(
        description="import, file, manual, api, review, exchange:<name>, or an import's --source."
    )
    external_id: str | None = Field(description="The source's own id for the record.")
    category: str | None
    labels: tuple[str, ...]
    source_ref: str | None
    first_seen: IsoTime
    last_seen: IsoTime = Field(description="When the source last changed or withdrew the record.")
    withdrawn_at: IsoTime | None
    withdrawal_reason: str | None
    #: Which of the source's records with this external id listed the signal (VICS: its first hash).
    record_key: str | None = Field(default=None, exclude=True)

    @property
    def live(self) -> bool:
        return self.withdrawn_at is None


@dataclass(frozen=True, slots=True)
class RecordInput:
    """One record of a source, as a whole: every signal it lists under its ``external_id``
    (:meth:`ohsc.banks.service.BankService.apply_records`). ``withdrawn``: the source withdrew it."""

    external_id: str
    signals: tuple[tuple[str, str], ...] = ()
    category: str | None = None
    labels: tuple[str, ...] = ()
    withdrawn: bool = False
    reason: str | None = None


class BankEntry(BaseModel):
    """A bank entry, as the library, the CLI (``--json``) and the API (``/v1/banks/{bank}/entries``)
    show it."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    id: int
    bank_id: int = Field(exclude=True)
    bank_name: str = Field(serialization_alias="bank")
    signal_type: str
    value: str
    quality: int | None
    category: str | None
    labels: tuple[str, ...]
    source: str
    source_ref: str | None
    external_id: str | None
    note: str | None
    created_at: IsoTime
    updated_at: IsoTime
    #: withdrawn (``retracted_at`` is set)
    retracted: bool
    retracted_at: IsoTime | None
    retraction_reason: str | None
    #: Every source record listing the entry, live and withdrawn (loaded where asked for).
    sources: tuple[SourceRecord, ...] = Field(
        default_factory=tuple, description="The source records listing the entry, live and withdrawn."
    )

    @property
    def live_sources(self) -> tuple[SourceRecord, ...]:
        return tuple(r for r in self.sources if r.live)


@dataclass(slots=True)
class EntryInput:
    """One entry to add (or, with ``retract``, to withdraw) as read from a file or a request."""

    signal_type: str
    value: str
    category: str | None = None
    labels: list[str] = field(default_factory=list)
    external_id: str | None = None
    note: str | None = None
    quality: int | None = None
    #: A withdrawal (tombstone): retract the entry if the bank has it. A withdrawal with an
    #: ``external_id`` and no ``signal_type``/``value`` retracts every entry with that external id
    #: (sources such as NCMEC delete by their own entry id, without repeating the hashes).
    retract: bool = False
    retraction_reason: str | None = None
    #: Where it was read (line or record number) for error messages.
    line: int | None = None
    #: Which record of the file gave it, when external ids may be shared by several (VICS: the
    #: record's first hash); exports pair hashes only within one record.
    record: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


@dataclass(frozen=True, slots=True)
class ReadNote:
    """Something a reader tells about the file as a whole that is not an error (e.g. hashes of an
    algorithm OHSC cannot use were skipped). It ends up in :attr:`ImportReport.notes`."""

    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(slots=True)
class ImportReport:
    """What an add or import did. Re-importing the same file gives all ``unchanged``."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retracted: int = 0
    #: Rows naming an entry that was retracted here: not brought back (use restore).
    kept_retracted: int = 0
    #: Withdrawals of entries the bank never had.
    unknown_withdrawals: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return len(self.errors)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.retracted)

    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "retracted": self.retracted,
            "kept_retracted": self.kept_retracted,
            "unknown_withdrawals": self.unknown_withdrawals,
            "invalid": self.invalid,
        }

    def merge(self, other: ImportReport) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.retracted += other.retracted
        self.kept_retracted += other.kept_retracted
        self.unknown_withdrawals += other.unknown_withdrawals
        self.errors.extend(other.errors)
        self.notes.extend(other.notes)


class ImportRun(BaseModel):
    """One import of a file into a bank: ``running``, ``finished`` or ``failed`` (as the library
    and ``ohsc bank imports --json`` show it)."""

    model_config = ConfigDict(frozen=True)

    id: int
    bank: str
    format: str
    source_name: str
    sha256: str
    status: str
    started_at: IsoTime
    finished_at: IsoTime | None
    counts: dict[str, Any]
    errors: int
    #: the file's size and how much of it committed batches came from (None: not known)
    bytes_total: int | None = None
    bytes_read: int | None = None

    @property
    def percent(self) -> int | None:
        """How far the run got, 0 to 100 (100 once finished); None when the size is not known."""
        if self.status == "finished":
            return 100
        if not self.bytes_total or self.bytes_read is None:
            return None
        return min(100, self.bytes_read * 100 // self.bytes_total)


@dataclass(frozen=True, slots=True)
class MediaUpload:
    """A file received as bytes (an API or web upload) rather than read from a path."""

    name: str
    data: bytes


@dataclass(slots=True)
class HashedMedia:
    """One file hashed as a bank reference: its entries and the notes on what was left out."""

    source: Path | MediaUpload
    items: list[EntryInput]
    notes: list[str]

    @property
    def content(self) -> Path | bytes:
        return self.source.data if isinstance(self.source, MediaUpload) else self.source

    @property
    def pdq(self) -> str | None:
        return next((i.value for i in self.items if i.signal_type == "pdq"), None)

    def signals(self) -> dict[str, str]:
        """The file's digests and PDQ (what a kept reference thumbnail is attached to)."""
        return {i.signal_type: i.value for i in self.items if i.signal_type != "vpdq"}
