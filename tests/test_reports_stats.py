"""Figures for transparency reports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from ohsc.reports.tables import ReportRow
from ohsc.store.db import Store
from tests.reporting_support import make_report, make_settings, service


def test_stats_count_and_time_reports(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, report_destinations={"US": ["local-folder"], "GB": ["uk-nca"]})
    svc = service(store, settings)
    filed = [make_report(svc, files=2, seed=i) for i in range(3)]
    retracted = make_report(svc, files=1, seed=7, jurisdictions=["GB"])
    draft = make_report(svc, files=1, seed=8, escalation={"imminent_danger": True, "reason": "placeholder"})
    for rid in [*filed, retracted]:
        svc.submit(rid)
    svc.retract(retracted, reason="placeholder reason")
    match = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    with store.session() as s:  # matched 1, 2, 4 and 3 hours before filing
        for rid, hours in zip([*filed, retracted], (1, 2, 4, 3), strict=True):
            s.execute(
                update(ReportRow)
                .where(ReportRow.id == rid)
                .values(matched_at=match, filed_at=match + timedelta(hours=hours))
            )
    figures = svc.stats()
    assert figures.reports == 5
    assert figures.by_status == {"filed": 3, "retracted": 1, "draft": 1}
    assert figures.filed == 3
    assert figures.files_reported == 2 * 3 + 1  # the retracted report had been filed
    assert figures.retractions == 1
    assert figures.escalated == 1
    assert figures.median_match_to_report_seconds == 2.5 * 3600  # the retracted one had been filed too
    assert figures.match_to_report_samples == 4
    assert figures.by_destination == {"local-folder": {"finished": 3}, "uk-nca": {"retracted": 1}}
    rows = list(csv.reader(io.StringIO(figures.to_csv())))
    assert rows[0] == ["metric", "dimension", "value"]
    assert ["median_match_to_report_seconds", "", "9000"] in rows
    assert ["submissions_by_destination", "uk-nca:retracted", "1"] in rows
    assert ["reports_by_status", "draft", "1"] in rows
    assert draft


def test_stats_for_a_period(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    make_report(svc, files=1)
    now = datetime.now(UTC)
    assert svc.stats(since=now + timedelta(days=1)).reports == 0
    assert svc.stats(since=now - timedelta(days=1), until=now + timedelta(days=1)).reports == 1
    empty = svc.stats(until=now - timedelta(days=1))
    assert empty.median_match_to_report_seconds is None
    assert "period_end" in empty.to_csv()
