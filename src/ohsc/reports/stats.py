"""Figures for transparency reports: reports by status and destination, time from match to report,
files reported, retractions. As a service function, a dict and CSV.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ohsc.errors import InvalidInputError
from ohsc.reports.tables import FILED, RETRACTED, S_FINISHED, S_RETRACTED, ReportRow
from ohsc.store.db import Store


@dataclass(frozen=True, slots=True)
class ReportStats:
    since: datetime | None
    until: datetime | None
    reports: int
    by_status: dict[str, int]
    by_destination: dict[str, dict[str, int]]
    filed: int
    files_reported: int
    retractions: int
    #: Median seconds from the earliest match to filing, over filed reports that know their match time.
    median_match_to_report_seconds: float | None
    match_to_report_samples: int
    escalated: int = 0
    by_incident_type: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "reports": self.reports,
            "by_status": self.by_status,
            "by_destination": self.by_destination,
            "by_incident_type": self.by_incident_type,
            "filed": self.filed,
            "files_reported": self.files_reported,
            "retractions": self.retractions,
            "escalated": self.escalated,
            "median_match_to_report_seconds": self.median_match_to_report_seconds,
            "match_to_report_samples": self.match_to_report_samples,
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """``(metric, dimension, value)`` rows, the CSV layout."""
        out: list[tuple[str, str, str]] = [
            ("period_start", "", self.since.isoformat() if self.since else ""),
            ("period_end", "", self.until.isoformat() if self.until else ""),
            ("reports", "", str(self.reports)),
            ("filed", "", str(self.filed)),
            ("files_reported", "", str(self.files_reported)),
            ("retractions", "", str(self.retractions)),
            ("escalated", "", str(self.escalated)),
            (
                "median_match_to_report_seconds",
                "",
                ""
                if self.median_match_to_report_seconds is None
                else f"{self.median_match_to_report_seconds:.0f}",
            ),
            ("match_to_report_samples", "", str(self.match_to_report_samples)),
        ]
        out += [("reports_by_status", k, str(v)) for k, v in sorted(self.by_status.items())]
        out += [("reports_by_incident_type", k, str(v)) for k, v in sorted(self.by_incident_type.items())]
        for dest, states in sorted(self.by_destination.items()):
            out += [
                ("submissions_by_destination", f"{dest}:{st}", str(n)) for st, n in sorted(states.items())
            ]
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("metric", "dimension", "value"))
        writer.writerows(self.rows())
        return buf.getvalue()


def report_stats(
    store: Store, *, since: datetime | None = None, until: datetime | None = None
) -> ReportStats:
    """Reports created in ``[since, until)`` (all when not given). A period that ends before it
    starts is refused: it would give zeros that look like figures."""
    if since is not None and until is not None and since >= until:
        raise InvalidInputError(
            f"the period ends ({until.isoformat()}) before it starts ({since.isoformat()}): swap the dates"
        )
    with store.session() as s:
        q = select(ReportRow).options(selectinload(ReportRow.files), selectinload(ReportRow.submissions))
        if since is not None:
            q = q.where(ReportRow.created_at >= since)
        if until is not None:
            q = q.where(ReportRow.created_at < until)
        rows = list(s.scalars(q))
        by_status: dict[str, int] = {}
        by_type: dict[str, int] = {}
        by_dest: dict[str, dict[str, int]] = {}
        delays: list[float] = []
        files = retractions = escalated = 0
        for row in rows:
            by_status[row.status] = by_status.get(row.status, 0) + 1
            body = row.body or {}
            kind = (body.get("incident") or {}).get("type") or "unset"
            by_type[kind] = by_type.get(kind, 0) + 1
            if (body.get("escalation") or {}).get("imminent_danger"):
                escalated += 1
            for sub in row.submissions:
                states = by_dest.setdefault(sub.destination, {})
                states[sub.state] = states.get(sub.state, 0) + 1
            was_filed = row.filed_at is not None or any(x.state == S_FINISHED for x in row.submissions)
            if row.status == FILED or (row.status == RETRACTED and was_filed):
                files += len(row.files)
            if row.status == RETRACTED or any(x.state == S_RETRACTED for x in row.submissions):
                retractions += 1
            if row.filed_at is not None and row.matched_at is not None:
                delays.append((row.filed_at - row.matched_at).total_seconds())
        return ReportStats(
            since=since,
            until=until,
            reports=len(rows),
            by_status=by_status,
            by_destination=by_dest,
            filed=by_status.get(FILED, 0),
            files_reported=files,
            retractions=retractions,
            median_match_to_report_seconds=statistics.median(delays) if delays else None,
            match_to_report_samples=len(delays),
            escalated=escalated,
            by_incident_type=by_type,
        )
