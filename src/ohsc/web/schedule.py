"""Which background jobs a server process runs, and what ``/health/ready`` says about them.

Every job is independent: the match indexes load in their own job (retried with back-off until
they load), and webhook delivery, retention, report resumption, evidence purge and the
prevention counters run from the start, whether or not the indexes have loaded. The index jobs
(refresh, compaction) wait for the indexes. A failing job is retried with back-off
(:mod:`ohsc.web.background`) and named by :func:`readiness`.

Jobs that act on the shared store (webhook delivery, retention, report resumption, evidence
purge, saving compacted index files) run in one process only, the leader
(:mod:`ohsc.web.leader`); jobs that keep this process's own state (index refresh and
compaction, its prevention counters) run in every process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ohsc.actions.webhooks import Dispatcher
from ohsc.audit import foreign_key_warning
from ohsc.settings import Settings
from ohsc.submissions.retention import purge
from ohsc.web.background import Backoff, Jobs
from ohsc.web.exchange_jobs import sync_exchanges
from ohsc.web.leader import ELECTION_SECONDS, Leadership, leadership_for
from ohsc.web.prevention import flush_counters
from ohsc.web.removal_jobs import RECHECK_SECONDS, crawl, recheck
from ohsc.web.report_jobs import purge_evidence, resume_submissions
from ohsc.web.services import Services

log = logging.getLogger(__name__)

RETENTION_SECONDS = 3600.0
OUTBOX_SECONDS = 1.0
#: name of the job that loads the indexes (the process is not ready until it succeeds)
INDEX_LOAD = "index-load"
#: name of the job that makes this process the leader when no other process is
ELECTION = "leader-election"


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One background job: what it runs, how often, and how its failure counts."""

    name: str
    run: Callable[[Services], object]
    interval: Callable[[Settings], float]
    initial_delay: Callable[[Settings], float] = lambda _s: 0.0
    #: a failure makes the process not ready (answers would be wrong, not just late)
    critical: bool = False
    #: acts on the shared store: runs in the leader process only
    leader_only: bool = False


def _refresh(services: Services) -> None:
    if services.matcher is not None:
        services.matcher.refresh()


def _compact(services: Services) -> None:
    # every process folds its own in-memory delta; one writes the files the next start loads
    if (
        services.matcher is not None
        and services.matcher.indexes.compact_if_needed()
        and services.leader.is_set()
    ):
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
    JobSpec("webhook-outbox", _deliver, lambda _s: OUTBOX_SECONDS, leader_only=True),
    JobSpec("retention", _retention, lambda _s: RETENTION_SECONDS, lambda _s: 60.0, leader_only=True),
    JobSpec("prevention-counters", flush_counters, _counter_flush_seconds, _counter_flush_seconds),
    JobSpec(
        "report-resume",
        resume_submissions,
        lambda s: s.report_resume_seconds,
        lambda s: min(30.0, s.report_resume_seconds),
        leader_only=True,
    ),
    JobSpec(
        "evidence-purge",
        purge_evidence,
        lambda s: s.evidence_purge_seconds,
        lambda s: min(300.0, s.evidence_purge_seconds),
        leader_only=True,
    ),
    JobSpec(
        "crawl",
        crawl,
        lambda s: s.crawl_interval_seconds,
        lambda s: min(30.0, s.crawl_interval_seconds),
        leader_only=True,
    ),
    JobSpec("removal-recheck", recheck, lambda _s: RECHECK_SECONDS, lambda _s: 60.0, leader_only=True),
    JobSpec(
        "exchange-sync",
        sync_exchanges,
        lambda s: s.exchange_check_seconds,
        lambda s: s.exchange_check_seconds,
        leader_only=True,
    ),
)


def new_jobs(settings: Settings) -> Jobs:
    return Jobs(Backoff(settings.job_retry_seconds, settings.job_retry_max_seconds))


class Election:
    """Stands this process for leader and starts (or stops) the leader-only jobs accordingly."""

    def __init__(
        self, services: Services, jobs: Jobs, leadership: Leadership, specs: tuple[JobSpec, ...]
    ) -> None:
        self.services = services
        self.jobs = jobs
        self.leadership = leadership
        self.specs = tuple(spec for spec in specs if spec.leader_only)

    def check(self) -> bool:
        """Try to lead (or check that this process still does); True when it leads."""
        leads = self.leadership.try_acquire()
        if leads and not self.services.leader.is_set():
            log.info(
                "server process %d leads: it runs %s", os.getpid(), ", ".join(s.name for s in self.specs)
            )
            self.services.leader.set()
            _add(self.services, self.jobs, self.specs)
        elif not leads and self.services.leader.is_set():
            log.warning("server process %d no longer leads: its leader-only jobs stop", os.getpid())
            self.services.leader.clear()
            for spec in self.specs:
                self.jobs.remove(spec.name)
        return leads

    def release(self) -> None:
        self.services.leader.clear()
        self.leadership.release()


def _add(services: Services, jobs: Jobs, specs: tuple[JobSpec, ...]) -> None:
    for spec in specs:
        jobs.add(
            spec.name,
            spec.interval(services.settings),
            partial(spec.run, services),
            initial_delay=spec.initial_delay(services.settings),
            critical=spec.critical,
        )


def start_background(
    services: Services,
    jobs: Jobs,
    *,
    load_in_thread: bool = True,
    specs: tuple[JobSpec, ...] = JOBS,
    leadership: Leadership | None = None,
) -> Election:
    """Load the indexes (in a job, so ``/health/live`` answers at once), start every job of this
    process, and the leader-only ones when this process leads (see :class:`Election`)."""
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
    _add(services, jobs, tuple(spec for spec in specs if not spec.leader_only))
    election = Election(services, jobs, leadership or leadership_for(services.store, settings), specs)
    try:
        election.check()  # at once: a lone server starts its jobs without waiting for a round
    except Exception:  # the database may not answer yet: the election job retries
        log.warning("could not stand for leader yet; retrying", exc_info=True)
    jobs.add(ELECTION, ELECTION_SECONDS, election.check, initial_delay=ELECTION_SECONDS)
    return election


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
        "leader": services.leader.is_set(),
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
