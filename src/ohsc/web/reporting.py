"""The report and evidence services of a request, for the pages and the API.

Tests (or an extension) may put a destination factory in ``services.extras["report_destinations"]``
(e.g. NCMEC without waits between retries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from ohsc.actor import Actor
from ohsc.evidence.service import EvidenceService
from ohsc.reports.destinations.base import ReportDestination
from ohsc.reports.service import ReportService
from ohsc.web.services import Services

DESTINATIONS_EXTRA = "report_destinations"


def report_service(services: Services, actor: Actor) -> ReportService:
    factory = services.extras.get(DESTINATIONS_EXTRA)
    return ReportService(
        services.store,
        services.settings,
        actor,
        blobs=services.blobs,
        destination_factory=cast("Callable[[str], ReportDestination] | None", factory),
    )


def evidence_service(services: Services, actor: Actor) -> EvidenceService:
    return EvidenceService(services.store, services.settings, actor, blobs=services.blobs)
