"""The report destination interface.

A destination takes a filed report somewhere: NCMEC's CyberTipline, a signed package for the UK
NCA or the EU Centre, a local folder. Its ``name`` is a storage key (settings, submission rows):
never rename one.

Submitting is resumable. The service hands the destination a :class:`SubmissionHandle` whose
``state``, ``remote_id`` and per-file progress come from the database; the destination must save
each step through the handle (each save commits) *before* starting the next, and on entry continue
from whatever state it finds. A process killed at any point then resumes where it stopped, and a
step that cannot be known to have happened is resolved by the destination (see
:mod:`ohsc.reports.destinations.ncmec`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ohsc.reports.snapshot import FileSnapshot, Provider, ReportSnapshot
from ohsc.reports.validation import Problem
from ohsc.settings import Settings


@dataclass(frozen=True, slots=True)
class FileProgress:
    report_file_id: int
    state: str
    remote_file_id: str | None
    remote_hash: str | None


class SubmissionHandle(Protocol):
    """One destination's submission of one report, as stored. Every ``save*`` commits at once."""

    @property
    def destination(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def remote_id(self) -> str | None: ...

    @property
    def receipt(self) -> dict[str, Any]: ...

    def files(self) -> dict[int, FileProgress]:
        """Progress per report file id."""
        ...

    def save(
        self,
        *,
        state: str | None = None,
        remote_id: str | None = None,
        receipt: dict[str, Any] | None = None,
        new_attempt: bool = False,
        abandon_remote: str | None = None,
    ) -> None:
        """Record a step. ``abandon_remote``: why the current remote report was given up (it is
        moved to the submission's ``abandoned`` list and ``remote_id`` cleared)."""
        ...

    def save_file(
        self,
        report_file_id: int,
        *,
        state: str,
        remote_file_id: str | None = None,
        remote_hash: str | None = None,
    ) -> None: ...

    def reset_files(self) -> None:
        """Every file back to pending (a new remote report is being opened)."""
        ...

    def content(self, f: FileSnapshot) -> bytes:
        """The file's bytes (checked against its SHA-256)."""
        ...

    def keep_document(self, name: str, data: bytes) -> None:
        """Preserve a document exactly as sent (evidence: "the contents provided in the report")."""
        ...

    def audit(self, action: str, details: dict[str, Any]) -> None:
        """An audit event about this submission (ids and hashes only)."""
        ...

    def progress(self, message: str) -> None:
        """Tell the person waiting what is happening (one short line)."""
        ...


class ReportDestination(ABC):
    """Where a report goes. Subclasses set ``name`` and ``title`` and implement submit/retract."""

    #: Storage key.
    name: ClassVar[str]
    #: For people.
    title: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check_config(self) -> None:  # noqa: B027 - most destinations need no configuration
        """Raise :class:`ohsc.errors.ConfigError` when the destination cannot be used as configured."""

    def problems(self, report: ReportSnapshot, provider: Provider) -> list[Problem]:
        """What this destination needs beyond :func:`ohsc.reports.validation.common_problems`."""
        return []

    @abstractmethod
    def preview(self, report: ReportSnapshot, provider: Provider) -> dict[str, bytes]:
        """The documents that would be sent, by name (placeholders for ids not known yet)."""

    @abstractmethod
    def submit(self, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle) -> None:
        """Take the submission from whatever state it is in to ``finished``."""

    def cannot_retract(self, state: str, remote_id: str | None) -> str | None:
        """Why a submission in ``state`` cannot be retracted here, or None when it can."""
        return None

    @abstractmethod
    def retract(
        self, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle, reason: str
    ) -> None:
        """Withdraw the report, where the destination allows it, and mark it ``retracted``."""

    def problem(self, field: str, message: str, severity: str = "error") -> Problem:
        return Problem(field, message, "warning" if severity == "warning" else "error", self.name)
