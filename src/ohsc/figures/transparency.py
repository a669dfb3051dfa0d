"""The transparency report for a period ``[since, until)``: one call (:func:`transparency_report`)
behind ``ohsc transparency`` and ``/transparency`` (page, CSV, JSON). Each figure's definition is
in :data:`DEFINITIONS`, which the page and docs/web.md print.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ohsc import audit
from ohsc.content.models import MatchRecordRow
from ohsc.figures.common import check_period, median
from ohsc.removal.models import TakedownRow
from ohsc.reports.stats import report_stats
from ohsc.review.model import Choice
from ohsc.review.models import ReviewDecisionRow, ReviewItemRow
from ohsc.store.db import Store

#: metric -> what it counts (printed on the page, in the CSV's documentation and in docs/web.md)
DEFINITIONS: dict[str, str] = {
    "period_from": "The period's first moment (UTC), included; empty: from the beginning.",
    "period_until": "The period's end (UTC), not included; empty: up to now. A date typed on the page "
    "as 'until' includes that whole day.",
    "matches": "Matches recorded in the period: one per bank entry that matched one submitted item "
    "(allowlist hits and matches an allowlist suppressed are not counted).",
    "matched_items": "Distinct submitted items with at least one match in the period.",
    "matches_by_bank": "Matches in the period per bank (the bank's name when it matched).",
    "matches_by_category": "Matches in the period per category of the matching entry ('none' when unset).",
    "matches_by_bank_and_category": "Matches in the period per bank and category, as 'bank:category'.",
    "decisions": "Final review decisions taken in the period and still standing (an undone decision "
    "is not counted): confirm (the content is abuse material) or not_abuse.",
    "escalations": "Escalations in the period that were not undone.",
    "reports": "Reports created in the period (drafts included).",
    "reports_filed": "Reports created in the period that were filed.",
    "reports_by_authority": "Submissions of the period's reports per destination (authority) and "
    "state; 'finished' means the authority accepted the report.",
    "takedowns": "Takedowns opened in the period (a matched file found at a web address).",
    "takedowns_by_status": "Those takedowns per current status (open, removed, awaiting_confirmation, "
    "dismissed, ...).",
    "takedowns_removed": "Those takedowns whose address was found gone on a re-check.",
    "median_match_to_decision_seconds": "Median seconds from the match (the review item's creation) to "
    "the final decision, over items finally decided in the period.",
    "median_match_to_report_seconds": "Median seconds from the earliest match to filing, over filed "
    "reports created in the period that know their match time.",
    "median_notice_to_removal_seconds": "Median seconds from the first notice to the re-check that "
    "found the address gone, over removed takedowns opened in the period.",
}


@dataclass(frozen=True, slots=True)
class Transparency:
    since: datetime | None
    until: datetime | None
    matches: int
    matched_items: int
    #: (bank, category) -> matches
    by_bank_category: dict[tuple[str, str], int]
    decisions: dict[str, int]
    escalations: int
    reports: int
    reports_filed: int
    reports_by_authority: dict[str, dict[str, int]]
    takedowns_by_status: dict[str, int]
    takedowns_removed: int
    median_match_to_decision_seconds: float | None
    median_match_to_report_seconds: float | None
    median_notice_to_removal_seconds: float | None

    @property
    def matches_by_bank(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (bank, _), n in self.by_bank_category.items():
            out[bank] += n
        return dict(sorted(out.items()))

    @property
    def matches_by_category(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (_, cat), n in self.by_bank_category.items():
            out[cat] += n
        return dict(sorted(out.items()))

    @property
    def takedowns(self) -> int:
        return sum(self.takedowns_by_status.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {
                "from": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
            },
            "matches": self.matches,
            "matched_items": self.matched_items,
            "matches_by_bank": self.matches_by_bank,
            "matches_by_category": self.matches_by_category,
            "matches_by_bank_and_category": [
                {"bank": b, "category": c, "matches": n}
                for (b, c), n in sorted(self.by_bank_category.items())
            ],
            "decisions": self.decisions,
            "escalations": self.escalations,
            "reports": self.reports,
            "reports_filed": self.reports_filed,
            "reports_by_authority": self.reports_by_authority,
            "takedowns": self.takedowns,
            "takedowns_by_status": self.takedowns_by_status,
            "takedowns_removed": self.takedowns_removed,
            "median_match_to_decision_seconds": self.median_match_to_decision_seconds,
            "median_match_to_report_seconds": self.median_match_to_report_seconds,
            "median_notice_to_removal_seconds": self.median_notice_to_removal_seconds,
            "definitions": DEFINITIONS,
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """``(metric, dimension, value)`` rows: the CSV layout."""

        def num(v: float | None) -> str:
            return "" if v is None else f"{v:.0f}"

        out = [
            ("period_from", "", self.since.isoformat() if self.since else ""),
            ("period_until", "", self.until.isoformat() if self.until else ""),
            ("matches", "", str(self.matches)),
            ("matched_items", "", str(self.matched_items)),
        ]
        out += [("matches_by_bank", b, str(n)) for b, n in self.matches_by_bank.items()]
        out += [("matches_by_category", c, str(n)) for c, n in self.matches_by_category.items()]
        out += [
            ("matches_by_bank_and_category", f"{b}:{c}", str(n))
            for (b, c), n in sorted(self.by_bank_category.items())
        ]
        out += [("decisions", d, str(n)) for d, n in sorted(self.decisions.items())]
        out += [("escalations", "", str(self.escalations)), ("reports", "", str(self.reports))]
        out.append(("reports_filed", "", str(self.reports_filed)))
        for dest, states in sorted(self.reports_by_authority.items()):
            out += [("reports_by_authority", f"{dest}:{st}", str(n)) for st, n in sorted(states.items())]
        out.append(("takedowns", "", str(self.takedowns)))
        out += [("takedowns_by_status", st, str(n)) for st, n in sorted(self.takedowns_by_status.items())]
        out.append(("takedowns_removed", "", str(self.takedowns_removed)))
        out.append(("median_match_to_decision_seconds", "", num(self.median_match_to_decision_seconds)))
        out.append(("median_match_to_report_seconds", "", num(self.median_match_to_report_seconds)))
        out.append(("median_notice_to_removal_seconds", "", num(self.median_notice_to_removal_seconds)))
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("metric", "dimension", "value"))
        writer.writerows(self.rows())
        return buf.getvalue()


def _period(q: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        q = q.where(column >= since)
    if until is not None:
        q = q.where(column < until)
    return q


def _review(
    store: Store, since: datetime | None, until: datetime | None
) -> tuple[dict[str, int], int, list[float]]:
    final = (Choice.CONFIRM.value, Choice.NOT_ABUSE.value)
    with store.session() as s:
        items = s.execute(
            _period(
                select(ReviewItemRow.decision, ReviewItemRow.created_at, ReviewItemRow.decided_at).where(
                    ReviewItemRow.status == "decided", ReviewItemRow.decision.in_(final)
                ),
                ReviewItemRow.decided_at,
                since,
                until,
            )
        ).all()
        escalations = s.execute(
            _period(
                select(ReviewDecisionRow.id).where(
                    ReviewDecisionRow.decision == Choice.ESCALATE.value, ReviewDecisionRow.undone_at.is_(None)
                ),
                ReviewDecisionRow.at,
                since,
                until,
            )
        ).all()
    decisions = {d: sum(1 for x, _, _ in items if x == d) for d in final}
    times = [(done - made).total_seconds() for _, made, done in items if done is not None]
    return decisions, len(escalations), times


def transparency_report(
    store: Store, actor: str, *, since: datetime | None = None, until: datetime | None = None
) -> Transparency:
    """The figures of ``[since, until)`` (everything when not given); an ``transparency.read``
    audit event records who read them for which period."""
    check_period(since, until)
    with store.session() as s:
        matches = s.execute(
            _period(
                select(
                    MatchRecordRow.bank_name, MatchRecordRow.category, MatchRecordRow.content_item_id
                ).where(MatchRecordRow.kind == "match"),
                MatchRecordRow.created_at,
                since,
                until,
            )
        ).all()
        takedowns = s.execute(
            _period(
                select(TakedownRow.status, TakedownRow.removal_seconds),
                TakedownRow.first_seen_at,
                since,
                until,
            )
        ).all()
    decisions, escalations, to_decision = _review(store, since, until)
    reports = report_stats(store, since=since, until=until)
    removed = [t for st, t in takedowns if st == "removed" and t is not None]
    figures = Transparency(
        since=since,
        until=until,
        matches=len(matches),
        matched_items=len({c for _, _, c in matches}),
        by_bank_category=dict(Counter((b, c or "none") for b, c, _ in matches)),
        decisions=decisions,
        escalations=escalations,
        reports=reports.reports,
        reports_filed=reports.filed,
        reports_by_authority=reports.by_destination,
        takedowns_by_status=dict(sorted(Counter(st for st, _ in takedowns).items())),
        takedowns_removed=sum(1 for st, _ in takedowns if st == "removed"),
        median_match_to_decision_seconds=median(to_decision),
        median_match_to_report_seconds=reports.median_match_to_report_seconds,
        median_notice_to_removal_seconds=median(removed),
    )
    with store.session() as s:
        audit.record(
            s,
            actor=actor,
            action="transparency.read",
            object_type="transparency",
            details={
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
            },
        )
    return figures
