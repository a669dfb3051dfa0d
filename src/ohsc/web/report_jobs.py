"""Scheduled report work of a server process (role ``system``): resume unfinished submissions
and purge evidence whose retention period and holds have ended. Both are audited by the services
they call (``report.resume``, ``evidence.purge``) and logged here with ids only.
"""

from __future__ import annotations

import logging

from ohsc.actor import SYSTEM
from ohsc.errors import OhscError
from ohsc.reports.tables import SUBMITTING
from ohsc.web.reporting import evidence_service, report_service
from ohsc.web.services import Services

log = logging.getLogger(__name__)


def resume_submissions(services: Services) -> int:
    """Submit again every report left ``submitting`` (a crash, a destination that was down).

    Returns how many were filed. A submission another process is working on is left to it.
    """
    svc = report_service(services, SYSTEM)
    filed = 0
    for summary in svc.summaries(status=SUBMITTING, limit=1000):
        try:
            result = svc.submit(summary.id)
        except OhscError as exc:
            log.warning("report %s: resuming its submission failed: %s", summary.id, exc.code)
            continue
        if result.filed:
            filed += 1
            log.info("report %s: submission resumed and filed", summary.id)
    return filed


def purge_evidence(services: Services) -> int:
    result = evidence_service(services, SYSTEM).purge()
    if result.count:
        log.info("evidence purge: %d item(s) deleted", result.count)
    return result.count
