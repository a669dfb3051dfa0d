"""Words for what people would otherwise read as storage keys: statistics metrics, audit actions
and their details, durations. The keys themselves stay in CSV files and the JSON API."""

from __future__ import annotations

import json
from typing import Any

#: report statistics (``ohsc.reports.stats.ReportStats.rows``): metric -> label
STAT_LABELS = {
    "period_start": "Period from",
    "period_end": "Period until (not including)",
    "reports": "Reports created",
    "filed": "Reports filed",
    "files_reported": "Files reported",
    "retractions": "Reports retracted",
    "escalated": "Reports marked imminent danger",
    "median_match_to_report_seconds": "Median time from match to filing",
    "match_to_report_samples": "Filed reports behind that median",
    "reports_by_status": "Reports by status",
    "reports_by_incident_type": "Reports by incident type",
    "submissions_by_destination": "Submissions by destination and state",
}

#: audit actions people meet most often; others read as "Bank entries · add"
ACTION_LABELS = {
    "auth.login": "Logged in",
    "auth.login_failed": "Login failed",
    "auth.logout": "Logged out",
    "content.match": "Content matched",
    "media.reveal": "Media revealed",
    "review.decide": "Review decision",
    "review.undo": "Review decision undone",
    "review.reopen": "Review item reopened",
    "review.search": "Review items searched",
    "review.claim_many": "Review items put on a grid",
    "review.decide_many": "Review items decided together",
    "bank.entries.add": "Bank entries added",
    "entry.retract": "Bank entries withdrawn",
    "entry.restore": "Bank entries restored",
    "audit.verify": "Audit chain checked",
    "report.stats": "Report statistics read",
    "retention.purge": "Retention run",
    "transparency.read": "Transparency figures read",
    "takedown.create": "Takedown opened",
    "takedown.urllist": "Live URL list exported",
    "review.claim": "Review item claimed",
}


def duration(seconds: float | int | str | None) -> str:
    """219 -> "3 min 39 s"; 93784 -> "1 d 2 h"; blank for nothing."""
    if seconds is None or seconds == "":
        return ""
    total = round(float(seconds))
    if total < 0:
        return "-" + duration(-total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def words(key: str) -> str:
    """``match_to_report_samples`` -> "match to report samples"."""
    return key.replace("_", " ").replace(".", " · ").strip()


def stat_label(metric: str) -> str:
    return STAT_LABELS.get(metric, words(metric).capitalize())


def stat_value(metric: str, value: str) -> str:
    if metric.endswith("_seconds"):
        return duration(value) or "none yet"
    if metric.startswith("period_"):
        return value.replace("T", " ").replace("+00:00", " UTC") if value else "any"
    return value


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, words(action).capitalize())


def sentence(actor: str, action: str, object_type: str, object_id: str | None) -> str:
    """An audit event in words: ``user:alice``, ``media.reveal``, ``review_item``, ``12`` ->
    "alice (user): Media revealed — review item 12"."""
    kind, _, name = actor.partition(":")
    who = f"{name} ({kind.replace('apikey', 'API key')})" if name else actor
    what = words(object_type) + (f" {object_id}" if object_id else "")
    return f"{who}: {action_label(action)} — {what}"


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "–"
    if key.endswith("_seconds") and isinstance(value, int | float):
        return duration(value)
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value[:20])
        return shown + (f" … ({len(value)} in all)" if len(value) > 20 else "")
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def details(values: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An audit event's details as (label, value) pairs."""
    return [(words(k), _value(k, v)) for k, v in (values or {}).items()]
