"""Which background jobs a server process runs, and what ``/health/ready`` says about them.

Every job is independent: the match indexes load in their own job (retried with back-off until
they load), and webhook delivery, retention, report resumption, evidence purge and the
prevention counters run from the start, whether or not the indexes have loaded. The index jobs
(refresh, compaction) wait for the indexes. A failing job is retried with back-off
(:mod:`ohsc.web.background`) and named by :func:`readiness`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ohsc.actions.webhooks import Dispatcher
from ohsc.audit import foreign_key_warning
from ohsc.settings import Settings
from ohsc.submissions.retention import purge
from ohsc.web.background import Backoff, Jobs
from ohsc.web.prevention import flush_counters
from ohsc.web.removal_jobs import RECHECK_SECONDS, crawl, recheck
from ohsc.web.report_jobs import purge_evidence, resume_submissions
from ohsc.web.services import Services

log = logging.getLogger(__name__)

RETENTION_SECONDS = 3600.0
OUTBOX_SECONDS = 1.0
#: name of the job that loads the indexes (the process is not ready until it succeeds)
INDEX_LOAD = "index-load"


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One background job: what it runs, how often, and how its failure counts."""

    name: str
    run: Callable[[Services], object]
    interval: Callable[[Settings], float]
    initial_delay: Callable[[Settings], float] = lambda _s: 0.0
    #: a failure makes the process not ready (answers would be wrong, not just late)
    critical: bool = False


def _refresh(services: Services) -> None:
    if services.matcher is not None:
        services.matcher.refresh()


def _compact(services: Services) -> None:
    if services.matcher is not None and services.matcher.indexes.compact_if_needed():
        services.matcher.indexes.save()


def _deliver(services: Services) -> None:
    dispatcher = services.extras.get("dispatcher")
    if not isinstance(dispatcher, Dispatcher):
        dispatcher = services.extras["dispatcher"] = Dispatcher(services.store, services.settings)
    while dispatcher.deliver_due() >= 20:
        pass


def _retention(services: Services) -> None:
    purge(services.store, services.settings, services.blobs)


def _counter_flush_seconds(settings: Settings) -> float:
    return max(1.0, settings.deter_counter_flush_seconds)


#: The jobs of every server process, in start order.
JOBS: tuple[JobSpec, ...] = (
    JobSpec("index-refresh", _refresh, lambda s: s.refresh_seconds, critical=True),
    JobSpec("index-compact", _compact, lambda s: s.compact_seconds, lambda s: s.compact_seconds),
    JobSpec("webhook-outbox", _deliver, lambda _s: OUTBOX_SECONDS),
    JobSpec("retention", _retention, lambda _s: RETENTION_SECONDS, lambda _s: 60.0),
    JobSpec("prevention-counters", flush_counters, _counter_flush_seconds, _counter_flush_seconds),
    JobSpec(
        "report-resume",
        resume_submissions,
        lambda s: s.report_resume_seconds,
        lambda s: min(30.0, s.report_resume_seconds),
    ),
    JobSpec(
        "evidence-purge",
        purge_evidence,
        lambda s: s.evidence_purge_seconds,
        lambda s: min(300.0, s.evidence_purge_seconds),
    ),
    JobSpec(
        "crawl", crawl, lambda s: s.crawl_interval_seconds, lambda s: min(30.0, s.crawl_interval_seconds)
    ),
    JobSpec("removal-recheck", recheck, lambda _s: RECHECK_SECONDS, lambda _s: 60.0),
)


def new_jobs(settings: Settings) -> Jobs:
    return Jobs(Backoff(settings.job_retry_seconds, settings.job_retry_max_seconds))


def start_background(
    services: Services, jobs: Jobs, *, load_in_thread: bool = True, specs: tuple[JobSpec, ...] = JOBS
) -> None:
    """Load the indexes (in a job, so ``/health/live`` answers at once) and start every job."""
    settings = services.settings
    services.extras["dispatcher"] = Dispatcher(services.store, settings)
    try:
        warning = foreign_key_warning(services.store)
    except Exception:  # the database may not answer yet: the jobs below retry, this is only advice
        warning = None
    if warning:
        log.warning("%s", warning)
    if load_in_thread:
        jobs.add(INDEX_LOAD, 0.0, services.load_indexes, once=True, critical=True)
    else:
        services.load_indexes()
    for spec in specs:
        jobs.add(
            spec.name,
            spec.interval(settings),
            partial(spec.run, services),
            initial_delay=spec.initial_delay(settings),
            critical=spec.critical,
        )


def readiness(services: Services, jobs: Jobs) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of ``/health/ready`` apart from the database check.

    503 while the indexes are not loaded or a critical job fails; 200 ``degraded`` while another
    job fails (matching is right, something else is late); 200 ``ready`` otherwise.
    """
    statuses = jobs.statuses()
    problems = [
        {
            "component": st.name,
            "error": st.last_error,
            "consecutive_failures": st.consecutive_failures,
            "last_failure_at": st.last_failure_at.isoformat() if st.last_failure_at else None,
            "next_retry_in": None if st.next_run_in is None else round(st.next_run_in, 1),
            "critical": st.critical,
        }
        for st in statuses
        if st.failing
    ]
    body: dict[str, Any] = {
        "jobs": {st.name: st.to_dict() for st in statuses},
        "problems": problems,
    }
    if not services.ready.is_set():
        load = jobs.get(INDEX_LOAD)
        detail = "index load failed; retrying" if load and load.consecutive_failures else "loading indexes"
        return 503, {"status": "starting", "detail": detail, **body}
    if any(p["critical"] for p in problems):
        return 503, {"status": "failing", "detail": "a job that keeps answers right is failing", **body}
    matcher = services.matcher
    body["applied_seq"] = matcher.indexes.applied_seq if matcher is not None else 0
    return 200, {"status": "degraded" if problems else "ready", **body}
