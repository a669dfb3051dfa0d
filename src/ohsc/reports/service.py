"""The report service: drafts, files, validation, submission, retraction. Every change is audited.

Drafts are saved as they are edited (:meth:`ReportService.update` takes a partial patch and the
version the editor started from). A draft is checked for completeness per destination before it is
submitted; submitting freezes it. Files are in :mod:`ohsc.reports.attachments`; submission and
retraction in :mod:`ohsc.reports.filing`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ohsc import audit
from ohsc.errors import (
    ConfigError,
    InvalidInputError,
    ReportStateError,
)
from ohsc.reports.attachments import CONTENT_NAMESPACE, REVIEW_FIELDS, ReportFiles
from ohsc.reports.draft import (
    changed_paths,
    merge,
    parse_body,
)
from ohsc.reports.service_base import DraftResult
from ohsc.reports.snapshot import ReportSnapshot
from ohsc.reports.submission import SubmissionInfo
from ohsc.reports.tables import (
    DRAFT,
    EDITABLE,
    REPORT_ID_COUNTER,
    REPORT_STATUSES,
    ReportRow,
)
from ohsc.store.db import next_seq

if TYPE_CHECKING:
    from ohsc.reports.filing import SubmitResult
    from ohsc.reports.plan import SubmitPlan
    from ohsc.reports.stats import ReportStats


@dataclass(frozen=True, slots=True)
class ReportSummary:
    id: int
    status: str
    incident_type: str | None
    files: int
    jurisdictions: tuple[str, ...]
    destinations: tuple[tuple[str, str, str | None], ...]
    created_at: datetime
    updated_at: datetime
    filed_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "incident_type": self.incident_type,
            "files": self.files,
            "jurisdictions": list(self.jurisdictions),
            "destinations": [{"name": n, "state": st, "remote_id": r} for n, st, r in self.destinations],
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "filed_at": self.filed_at.isoformat() if self.filed_at else None,
        }


class ReportService(ReportFiles):
    """Reports for one actor: the one service the CLI and the web app call."""

    def get(self, report_id: int) -> ReportSnapshot:
        self._require(self._read_roles, "read reports")
        with self.store.session() as s:
            row = self._load(s, report_id)
            audit.record(
                s, actor=self.actor.name, action="report.view", object_type="report", object_id=row.id
            )
            return ReportSnapshot.from_row(row)

    def submissions(self, report_id: int) -> list[SubmissionInfo]:
        self._require(self._read_roles, "read reports")
        with self.store.session() as s:
            row = self._load(s, report_id)
            return [SubmissionInfo.from_row(sub) for sub in row.submissions]

    def summaries(self, *, status: str | None = None, limit: int = 200) -> list[ReportSummary]:
        self._require(self._read_roles, "list reports")
        if status is not None and status not in REPORT_STATUSES:
            raise InvalidInputError(f"unknown status {status!r} (one of {', '.join(REPORT_STATUSES)})")
        with self.store.session() as s:
            q = (
                select(ReportRow)
                .options(selectinload(ReportRow.files), selectinload(ReportRow.submissions))
                .order_by(ReportRow.id.desc())
                .limit(limit)
            )
            if status is not None:
                q = q.where(ReportRow.status == status)
            out = []
            for row in s.scalars(q):
                body = row.body or {}
                out.append(
                    ReportSummary(
                        id=row.id,
                        status=row.status,
                        incident_type=(body.get("incident") or {}).get("type"),
                        files=len(row.files),
                        jurisdictions=tuple(body.get("jurisdictions") or ()),
                        destinations=tuple((x.destination, x.state, x.remote_id) for x in row.submissions),
                        created_at=row.created_at,
                        updated_at=row.updated_at,
                        filed_at=row.filed_at,
                    )
                )
            audit.record(
                s,
                actor=self.actor.name,
                action="report.list",
                object_type="report",
                details={"count": len(out), "status": status},
            )
            return out

    # --- drafts ------------------------------------------------------------------------------

    def create_draft(
        self,
        body: dict[str, Any] | None = None,
        *,
        sources: Sequence[dict[str, Any]] = (),
        matched_at: datetime | None = None,
    ) -> DraftResult:
        """A new draft. ``sources`` names what it came from (review decisions, matches)."""
        self._require(self._draft_roles, "create reports")
        data = dict(body or {})
        data.setdefault("jurisdictions", list(self.settings.report_default_jurisdictions))
        parsed = parse_body(data)
        with self.store.session() as s:
            row = ReportRow(
                id=next_seq(s, REPORT_ID_COUNTER),  # never reused, even after a discard
                status=DRAFT,
                version=1,
                body=parsed.model_dump(mode="json", exclude_none=True),
                sources=[dict(x) for x in sources],
                destinations=[],
                created_by=self.actor.name,
                updated_by=self.actor.name,
                matched_at=matched_at,
            )
            s.add(row)
            s.flush()
            audit.record(
                s,
                actor=self.actor.name,
                action="report.create",
                object_type="report",
                object_id=row.id,
                details={"sources": [dict(x) for x in sources], "fields": changed_paths({}, row.body)},
            )
            s.refresh(row, ["files", "submissions"])
            snap = ReportSnapshot.from_row(row)
        return DraftResult(snap, self.problems(snap))

    def update(
        self, report_id: int, patch: dict[str, Any], *, expected_version: int | None = None
    ) -> DraftResult:
        """Save part of a draft: objects merge, lists and values replace, ``null`` clears."""
        self._require(self._draft_roles, "edit reports")
        if not isinstance(patch, dict):
            raise InvalidInputError("a draft change must be a JSON object")
        with self.store.session() as s:
            row = self._load(s, report_id, lock=True)
            self._editable(row, expected_version)
            before = dict(row.body or {})
            parsed = parse_body(merge(before, patch))
            after = parsed.model_dump(mode="json", exclude_none=True)
            fields = changed_paths(before, after)
            if fields:
                row.body = after
                self._touch(s, row)
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="report.update",
                    object_type="report",
                    object_id=row.id,
                    details={"fields": fields, "version": row.version},
                )
            snap = ReportSnapshot.from_row(row)
        return DraftResult(snap, self.problems(snap))

    def discard(self, report_id: int) -> None:
        """Delete a draft that was never submitted, and the content attached to it."""
        self._require(self._draft_roles, "discard reports")
        with self.store.session() as s:
            row = self._load(s, report_id, lock=True)
            if row.status != DRAFT or row.submitted_at is not None:
                raise ReportStateError(f"report {row.id} was submitted: it is kept, not discarded")
            owned = [(f.content_namespace, f.content_blob_id) for f in row.files if f.content_owned]
            audit.record(
                s,
                actor=self.actor.name,
                action="report.discard",
                object_type="report",
                object_id=row.id,
                details={"files": [f.sha256 for f in row.files]},
            )
            s.delete(row)
        for namespace, blob_id in owned:
            if blob_id:
                self.blobs.delete(namespace, blob_id)

    def check(self, report_id: int) -> DraftResult:
        snap = self.get(report_id)
        return DraftResult(snap, self.problems(snap))

    def preview(self, report_id: int, destination: str) -> dict[str, bytes]:
        """The documents ``destination`` would receive (ids not known yet are placeholders)."""
        snap = self.get(report_id)
        return self.destination(destination).preview(snap, self.provider)

    def stats(self, *, since: datetime | None = None, until: datetime | None = None) -> ReportStats:
        """Figures for transparency reports (:mod:`ohsc.reports.stats`)."""
        from ohsc.reports.stats import report_stats

        self._require(self._read_roles, "read report statistics")
        figures = report_stats(self.store, since=since, until=until)
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor.name,
                action="report.stats",
                object_type="report",
                details={
                    "since": since.isoformat() if since else None,
                    "until": until.isoformat() if until else None,
                },
            )
        return figures

    # --- filing (ohsc.reports.filing) ----------------------------------------------------------

    def plan(self, report_id: int) -> SubmitPlan:
        """What submitting would do: each destination and what it receives, and what blocks it."""
        from ohsc.reports.plan import make_plan

        snap = self.get(report_id)
        names: list[str] = []
        problems = self.problems(snap) if snap.status in EDITABLE else []
        with contextlib.suppress(ConfigError):  # listed in the problems
            names = self.destinations_of(snap)
        with self.store.session() as s:
            states = {x.destination: x.state for x in self._load(s, report_id).submissions}
        return make_plan(snap, names, problems, states)

    def cannot_retract(self, report_id: int) -> list[str]:
        """Why the report cannot be retracted now (empty: it can)."""
        from ohsc.reports.tables import FILED, SUBMITTING

        snap = self.get(report_id)
        if snap.status not in (SUBMITTING, FILED):
            return [f"report {report_id} is {snap.status}: only submitted reports can be retracted"]
        with self.store.session() as s:
            subs = [(x.destination, x.state, x.remote_id) for x in self._load(s, report_id).submissions]
        return [
            why
            for name, state, remote_id in subs
            if (why := self.destination(name).cannot_retract(state, remote_id))
        ]

    def submit(
        self, report_id: int, *, take_over: bool = False, expected_version: int | None = None
    ) -> SubmitResult:
        """Submit to every destination, or resume an interrupted submission. See :mod:`ohsc.reports.filing`.

        ``expected_version``: the version the person confirmed (:meth:`plan`); a draft changed
        since is refused (:class:`ohsc.errors.ConflictError`) rather than filed unseen."""
        from ohsc.reports.filing import Filing

        self._require(self._submit_roles, "submit reports")
        return Filing(self).submit(report_id, take_over=take_over, expected_version=expected_version)

    def retract(self, report_id: int, *, reason: str) -> SubmitResult:
        from ohsc.reports.filing import Filing

        self._require(self._submit_roles, "retract reports")
        return Filing(self).retract(report_id, reason=reason)


__all__ = ["CONTENT_NAMESPACE", "REVIEW_FIELDS", "DraftResult", "ReportService", "ReportSummary"]
