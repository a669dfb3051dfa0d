"""The scheduled exchange sync of the leader process (role ``system``): every exchange whose
interval has passed is fetched, and reviewer verdicts go back to those that take feedback. One
exchange failing does not stop the others; each keeps its error in ``last_error`` and the audit
log (``exchange.sync.failed``), and is retried at its next interval."""

from __future__ import annotations

import logging

from ohsc.errors import OhscError
from ohsc.exchanges.service import ExchangeService
from ohsc.web.services import Services

log = logging.getLogger(__name__)


def sync_exchanges(services: Services) -> int:
    """Sync the exchanges that are due and push their feedback; returns the pages applied."""
    svc = ExchangeService(services.store, services.settings, actor="system")
    pages = 0
    for report in svc.sync_due():
        pages += report.pages
        if report.error:
            log.warning("exchange %s: sync failed: %s", report.exchange, report.error)
            continue
        try:
            svc.push_feedback(report.exchange)
        except OhscError as exc:
            log.warning("exchange %s: feedback not sent: %s", report.exchange, exc.code)
    return pages
