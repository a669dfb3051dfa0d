"""What the figures share: a period that must not run backwards, medians, day and week keys."""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta

from ohsc.errors import InvalidInputError


def check_period(since: datetime | None, until: datetime | None) -> None:
    """A period that ends before it starts is refused: it would give zeros that look like figures."""
    if since is not None and until is not None and since >= until:
        raise InvalidInputError(
            f"the period ends ({until.isoformat()}) before it starts ({since.isoformat()}): swap the dates"
        )


def within(at: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """``at`` in ``[since, until)`` (open ends when not given)."""
    if at is None:
        return False
    return (since is None or at >= since) and (until is None or at < until)


def median(values: list[float]) -> float | None:
    """The median (mean of the middle two for an even count), None for none."""
    return float(statistics.median(values)) if values else None


def week_of(day: date) -> str:
    """The ISO week a day falls in, as ``2026-W49``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def days_back(today: date, days: int) -> tuple[date, ...]:
    """``days`` days up to and including ``today``, oldest first."""
    return tuple(today - timedelta(days=days - 1 - i) for i in range(days))
