"""What submitting a report will do, shown before it is done: which authority gets what.

The web form's confirmation page (``/reports/{id}/confirm``), ``ohsc report submit`` (which asks
once, or takes ``--yes``) and ``GET /v1/reports/{id}/plan`` all show this plan. It names the
version it was made from: submitting with that ``expected_version`` files exactly what was shown
(a change made meanwhile is refused with 409 and the plan is shown again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ohsc.reports import destinations as dest_registry
from ohsc.reports.snapshot import ReportSnapshot
from ohsc.reports.tables import EDITABLE, SUBMITTING
from ohsc.reports.validation import Problem, errors
from ohsc.reports.vocab import NCMEC_INCIDENT_TYPES


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One destination: who it is and what it receives."""

    destination: str
    title: str
    sends: tuple[str, ...]
    #: The submission's state when one exists (a resumed submission), else None.
    state: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "title": self.title,
            "sends": list(self.sends),
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class SubmitPlan:
    report_id: int
    version: int
    status: str
    steps: tuple[PlanStep, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> list[Problem]:
        return errors(list(self.problems))

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def resuming(self) -> bool:
        return self.status == SUBMITTING

    @property
    def ready(self) -> bool:
        """Submitting now would go ahead (nothing blocks it)."""
        if self.resuming:
            return True
        return self.status in EDITABLE and bool(self.steps) and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "version": self.version,
            "status": self.status,
            "ready": self.ready,
            "resuming": self.resuming,
            "destinations": [s.to_dict() for s in self.steps],
            "problems": [p.to_dict() for p in self.problems],
        }


def _what(report: ReportSnapshot) -> list[str]:
    """What every destination receives, in words (no content, no personal data)."""
    body = report.body
    incident = body.incident
    kind = NCMEC_INCIDENT_TYPES.get(incident.type or "", "no incident type yet")
    out = [f"the report: {kind}, jurisdictions {', '.join(body.jurisdictions) or 'none'}"]
    if body.escalation.imminent_danger:
        out.append("marked urgent: a child in imminent danger")
    if incident.urls:
        out.append(f"{len(incident.urls)} URL(s)")
    if body.accounts:
        reported = sum(1 for a in body.accounts if a.relation == "reported")
        out.append(
            f"{len(body.accounts)} account(s) ({reported} reported, {len(body.accounts) - reported} associated)"
        )
    if report.files:
        names = ", ".join(f.name for f in report.files[:5])
        more = f" and {len(report.files) - 5} more" if len(report.files) > 5 else ""
        out.append(f"{len(report.files)} file(s) with their details: {names}{more}")
    else:
        out.append("no files")
    return out


def make_plan(
    report: ReportSnapshot, names: list[str], problems: list[Problem], states: dict[str, str]
) -> SubmitPlan:
    """The plan for ``report`` going to ``names`` (see :meth:`ReportService.plan`)."""
    what = _what(report)
    steps = []
    for name in names:
        cls = dest_registry.DESTINATIONS.get(name)
        title = cls.title if cls is not None else name
        sends = list(what)
        if name == "ncmec":
            sends.insert(0, "sent over the CyberTipline Reporting API; a finished report cannot be retracted")
        else:
            sends.insert(
                0, "a signed package (the recipient verifies it with this installation's public key)"
            )
        steps.append(PlanStep(name, title, tuple(sends), states.get(name)))
    return SubmitPlan(report.id, report.version, report.status, tuple(steps), tuple(problems))
