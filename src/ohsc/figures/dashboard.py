"""The operator dashboard's figures, one call (:func:`dashboard`) for ``/dashboard``.

* the review queue now: items waiting (open, awaiting a second reviewer, escalated), by status
  and by age; the oldest and the median age
* decisions per reviewer per day (a decision is a confirm, not-abuse, escalate or skip that was
  not undone; corrections are not decisions)
* exposure per reviewer and ISO week: reveals of unblurred media, held (press-and-hold) reveals,
  distinct items revealed, days on which the reviewer reached the daily reveal limit (as many
  reveals as the limit, or a reveal refused at it), time revealed (from each reveal to the end the
  browser reported; a reveal with no reported end counts as the grant's lifetime, 5 minutes), and
  reveals refused at the limit
* median times: match to final decision, final decision to filed report, match to filed report
* matches per bank (and per bank per day)

Times are UTC; the window is the ``days`` days up to and including today.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from ohsc.accounts.models import UserRow
from ohsc.content.models import MatchRecordRow
from ohsc.figures.common import days_back, median, week_of
from ohsc.reports.from_review import REVIEW_REF_PREFIX
from ohsc.reports.tables import ReportFileRow, ReportRow
from ohsc.review.grants import GRANT_SECONDS
from ohsc.review.model import DECISIONS
from ohsc.review.models import MediaRevealRow, RevealRefusalRow, ReviewDecisionRow, ReviewItemRow
from ohsc.review.viewing import REVEAL_MAX_SECONDS
from ohsc.store.db import Store
from ohsc.store.types import utcnow

WAITING = ("open", "awaiting_second", "escalated")
#: queue age buckets: (label, upper bound in hours; None: no bound)
AGE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("under 1 hour", 1),
    ("1 to 24 hours", 24),
    ("1 to 7 days", 24 * 7),
    ("over 7 days", None),
)


@dataclass(frozen=True, slots=True)
class ExposureRow:
    reviewer: str
    week: str
    reveals: int
    held: int
    items: int
    days_at_limit: int
    #: seconds unblurred media stayed visible (see :func:`revealed_seconds`)
    seconds_revealed: float = 0.0
    #: reveals refused because the daily limit was reached
    refused: int = 0


@dataclass(frozen=True, slots=True)
class Dashboard:
    now: datetime
    days: tuple[date, ...]
    queue_by_status: dict[str, int]
    queue_by_age: dict[str, int]
    oldest_age_seconds: float | None
    median_age_seconds: float | None
    #: reviewer -> one count per day of ``days``
    decisions: dict[str, tuple[int, ...]]
    exposure: tuple[ExposureRow, ...]
    daily_limit: int
    median_match_to_decision_seconds: float | None
    median_decision_to_report_seconds: float | None
    median_match_to_report_seconds: float | None
    samples: dict[str, int]
    matches_by_bank: dict[str, int]
    #: bank -> one count per day of ``days``
    matches_per_day: dict[str, tuple[int, ...]]

    @property
    def queue_depth(self) -> int:
        return sum(self.queue_by_status.values())


def _bucket(hours: float) -> str:
    for label, bound in AGE_BUCKETS:
        if bound is None or hours < bound:
            return label
    return AGE_BUCKETS[-1][0]  # pragma: no cover


def _per_day(days: tuple[date, ...], rows: list[tuple[str, datetime]]) -> dict[str, tuple[int, ...]]:
    index = {d: i for i, d in enumerate(days)}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for key, at in rows:
        i = index.get(at.date())
        if i is not None:
            counts[key][i] += 1
    return {k: tuple(v) for k, v in sorted(counts.items())}


def revealed_seconds(at: datetime, hidden_at: datetime | None) -> float:
    """How long one reveal showed media: to its reported end (recorded at most an hour after),
    or, when no end arrived, the lifetime of the grant that unlocked the media."""
    if hidden_at is None:
        return float(GRANT_SECONDS)
    return max(0.0, min((hidden_at - at).total_seconds(), float(REVEAL_MAX_SECONDS)))


def _exposure(
    rows: list[tuple[int, int, str, datetime, datetime | None]],
    refusals: list[tuple[int, datetime]],
    names: dict[int, str],
    limit: int,
) -> list[ExposureRow]:
    def key(user_id: int, at: datetime) -> tuple[str, str]:
        return names.get(user_id, f"user {user_id}"), week_of(at.date())

    weeks: dict[tuple[str, str], list[tuple[int, str, datetime, datetime | None]]] = defaultdict(list)
    for user_id, item_id, mode, at, hidden_at in rows:
        weeks[key(user_id, at)].append((item_id, mode, at, hidden_at))
    refused: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for user_id, at in refusals:
        refused[key(user_id, at)].append(at)
    out = []
    for who, week in sorted(set(weeks) | set(refused)):
        reveals = weeks.get((who, week), [])
        per_day = Counter(at.date() for _, _, at, _ in reveals)
        full = {d for d, n in per_day.items() if limit > 0 and n >= limit}
        out.append(
            ExposureRow(
                reviewer=who,
                week=week,
                reveals=len(reveals),
                held=sum(mode == "hold" for _, mode, _, _ in reveals),
                items=len({item for item, _, _, _ in reveals}),
                days_at_limit=len(full | {at.date() for at in refused.get((who, week), [])}),
                seconds_revealed=sum(revealed_seconds(at, end) for _, _, at, end in reveals),
                refused=len(refused.get((who, week), [])),
            )
        )
    return out


def _decision_id(ref: str | None) -> int | None:
    """``review-decision-12`` -> 12 (a reported file's link to the decision behind it)."""
    tail = (ref or "").removeprefix(REVIEW_REF_PREFIX)
    return (
        int(tail) if ref and ref.startswith(REVIEW_REF_PREFIX) and tail.isdigit() and len(tail) < 19 else None
    )


def _times(store: Store, since: datetime) -> tuple[list[float], list[float], list[float]]:
    """Seconds from match to decision, decision to report, match to report, over the window."""
    with store.session() as s:
        decided = s.execute(
            select(ReviewItemRow.created_at, ReviewItemRow.decided_at).where(
                ReviewItemRow.status == "decided", ReviewItemRow.decided_at >= since
            )
        ).all()
        filed = s.execute(
            select(ReportRow.id, ReportRow.matched_at, ReportRow.filed_at).where(ReportRow.filed_at >= since)
        ).all()
        found = s.execute(
            select(ReportFileRow.report_id, ReportFileRow.review_ref).where(
                ReportFileRow.report_id.in_([r.id for r in filed]), ReportFileRow.review_ref.is_not(None)
            )
        ).all()
        refs = [(report_id, _decision_id(ref)) for report_id, ref in found]
        decision_ids = {d for _, d in refs if d is not None}
        decision_at = {
            i: at
            for i, at in s.execute(
                select(ReviewDecisionRow.id, ReviewDecisionRow.at).where(
                    ReviewDecisionRow.id.in_(decision_ids)
                )
            )
        }
    to_decision = [(d - c).total_seconds() for c, d in decided if d is not None]
    filed_at = {r.id: r.filed_at for r in filed}
    to_report: list[float] = []
    for report_id, decision_id in refs:
        at = decision_at.get(decision_id) if decision_id is not None else None
        if at is not None:
            to_report.append((filed_at[report_id] - at).total_seconds())
    match_to_report = [(r.filed_at - r.matched_at).total_seconds() for r in filed if r.matched_at]
    return to_decision, to_report, match_to_report


def dashboard(
    store: Store, *, days: int = 28, daily_limit: int = 0, now: datetime | None = None
) -> Dashboard:
    """The dashboard over the last ``days`` days; ``daily_limit`` is the reveal limit in force
    (``OHSC_REVIEW_DAILY_REVEAL_LIMIT``; 0: none), against which days at the limit are counted."""
    now = now or utcnow()
    window = days_back(now.date(), days)
    since = datetime.combine(window[0], datetime.min.time(), tzinfo=now.tzinfo)
    with store.session() as s:
        waiting = s.execute(
            select(ReviewItemRow.status, ReviewItemRow.created_at).where(ReviewItemRow.status.in_(WAITING))
        ).all()
        decisions = s.execute(
            select(ReviewDecisionRow.actor, ReviewDecisionRow.at).where(
                ReviewDecisionRow.at >= since,
                ReviewDecisionRow.decision.in_(DECISIONS),
                ReviewDecisionRow.undone_at.is_(None),
            )
        ).all()
        reveals = s.execute(
            select(
                MediaRevealRow.user_id,
                MediaRevealRow.item_id,
                MediaRevealRow.mode,
                MediaRevealRow.at,
                MediaRevealRow.hidden_at,
            ).where(MediaRevealRow.at >= since)
        ).all()
        refusals = s.execute(
            select(RevealRefusalRow.user_id, RevealRefusalRow.at).where(RevealRefusalRow.at >= since)
        ).all()
        names = {i: n for i, n in s.execute(select(UserRow.id, UserRow.name))}
        matches = s.execute(
            select(MatchRecordRow.bank_name, MatchRecordRow.created_at).where(
                MatchRecordRow.kind == "match", MatchRecordRow.created_at >= since
            )
        ).all()
    ages = sorted((now - created).total_seconds() for _, created in waiting)
    to_decision, to_report, match_to_report = _times(store, since)
    return Dashboard(
        now=now,
        days=window,
        queue_by_status={st: sum(1 for x, _ in waiting if x == st) for st in WAITING},
        queue_by_age={label: sum(_bucket(a / 3600) == label for a in ages) for label, _ in AGE_BUCKETS},
        oldest_age_seconds=ages[-1] if ages else None,
        median_age_seconds=median(ages),
        decisions=_per_day(window, [(a.removeprefix("user:"), at) for a, at in decisions]),
        exposure=tuple(
            _exposure(
                [(u, i, m, at, end) for u, i, m, at, end in reveals],
                [(u, at) for u, at in refusals],
                names,
                daily_limit,
            )
        ),
        daily_limit=daily_limit,
        median_match_to_decision_seconds=median(to_decision),
        median_decision_to_report_seconds=median(to_report),
        median_match_to_report_seconds=median(match_to_report),
        samples={
            "match_to_decision": len(to_decision),
            "decision_to_report": len(to_report),
            "match_to_report": len(match_to_report),
        },
        matches_by_bank=dict(sorted(Counter(bank for bank, _ in matches).items())),
        matches_per_day=_per_day(window, [(bank, at) for bank, at in matches]),
    )


__all__ = ["AGE_BUCKETS", "Dashboard", "ExposureRow", "dashboard", "revealed_seconds"]
