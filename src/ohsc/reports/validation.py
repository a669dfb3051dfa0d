"""Is a draft complete? Problems per field, with messages a reviewer can act on.

:func:`common_problems` holds for every destination; each destination adds its own
(:meth:`ohsc.reports.destinations.base.ReportDestination.problems`). Errors block submission,
warnings are shown and do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from ohsc.reports import fields
from ohsc.reports.draft import FileFacts, ReportBody
from ohsc.reports.snapshot import Provider, ReportSnapshot
from ohsc.store.types import utcnow

Severity = Literal["error", "warning"]

#: How far in the future an incident time may be (clock skew between machines).
_FUTURE_SLACK = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str
    severity: Severity = "error"
    destination: str | None = None

    def __str__(self) -> str:
        where = f"[{self.destination}] " if self.destination else ""
        return f"{where}{self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
            "destination": self.destination,
        }


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def common_problems(report: ReportSnapshot, provider: Provider) -> list[Problem]:
    """What every destination needs."""
    return [
        *_stored_problems(report),
        *_incident_problems(report),
        *_account_problems(report.body),
        *_file_problems(report, provider),
    ]


def _stored_problems(report: ReportSnapshot) -> list[Problem]:
    """Values saved before the field checks existed that the checks now refuse."""
    out: list[Problem] = []
    saved = report.body.model_dump(mode="json", exclude_none=True)
    for path, message in fields.stored_problems(ReportBody, saved).items():
        out.append(Problem(path, message))
    for f in report.files:
        saved_facts = f.facts.model_dump(mode="json", exclude_none=True)
        for path, message in fields.stored_problems(FileFacts, saved_facts, f"files.{f.position}.").items():
            out.append(Problem(path, message))
    return out


def _incident_problems(report: ReportSnapshot) -> list[Problem]:
    """Where, what, when, and why it is urgent."""
    out: list[Problem] = []
    body = report.body
    incident = body.incident
    if not body.jurisdictions:
        out.append(
            Problem(
                "jurisdictions",
                "say where the content or the account is (country codes such as US, GB, DE); "
                "it decides where the report goes and how long evidence is kept",
            )
        )
    if incident.type is None:
        out.append(Problem("incident.type", "choose the incident type"))
    if incident.at is None:
        out.append(Problem("incident.at", "give the date and time of the incident, with its time zone"))
    elif incident.at > utcnow() + _FUTURE_SLACK:
        out.append(Problem("incident.at", "the incident time is in the future"))
    if incident.type == "child_pornography" and not report.files:
        out.append(Problem("files", "a report of apparent child sexual abuse material needs the file(s)"))
    if incident.internet_kind == "web_page" and incident.third_party_hosted and not incident.urls:
        out.append(Problem("incident.urls", "third-party hosted content needs the URL where it was found"))
    if body.escalation.imminent_danger and not (body.escalation.reason or "").strip():
        out.append(
            Problem(
                "escalation.reason",
                "say why a child is in imminent danger: it is what the recipient reads first",
            )
        )
    return out


def _account_problems(body: ReportBody) -> list[Problem]:
    out: list[Problem] = []
    for i, account in enumerate(body.accounts):
        if not account.identifiers():
            out.append(
                Problem(
                    f"accounts.{i}",
                    "give at least one identifier (user id, screen name, profile URL, e-mail, IP or device)",
                )
            )
        for j, event in enumerate(account.ip_events):
            if event.at is None:
                out.append(
                    Problem(
                        f"accounts.{i}.ip_events.{j}.at",
                        "an IP address without the time it was seen is of little use to investigators",
                        "warning",
                    )
                )
    return out


def _file_problems(report: ReportSnapshot, provider: Provider) -> list[Problem]:
    out: list[Problem] = []
    for f in report.files:
        where = f"files.{f.position}"
        facts = f.facts
        if facts.industry_classification is not None:
            if not provider.industry_classification:
                out.append(
                    Problem(
                        f"{where}.industry_classification",
                        "only signatories of the industry classification scheme classify files "
                        "(OHSC_REPORT_INDUSTRY_CLASSIFICATION=true)",
                    )
                )
            elif facts.relevance != "reported":
                out.append(
                    Problem(
                        f"{where}.industry_classification",
                        "only files with relevance 'reported' can be classified",
                    )
                )
        if "potential_meme" in facts.annotations and facts.relevance != "reported":
            out.append(
                Problem(
                    f"{where}.annotations", "only files with relevance 'reported' can be a potential meme"
                )
            )
        if facts.uploaded_at is None:
            out.append(
                Problem(f"{where}.uploaded_at", "the time the file was uploaded helps triage", "warning")
            )
    return out
