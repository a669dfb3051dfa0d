"""The review item page's "Start a report" panel: the open drafts a confirmed file can join."""

from __future__ import annotations

from ohsc.accounts.model import User
from ohsc.errors import PermissionDeniedError
from ohsc.reports.service import ReportSummary
from ohsc.reports.tables import DRAFT
from ohsc.web.actors import user_actor
from ohsc.web.reporting import report_service
from ohsc.web.services import Services


def open_drafts(services: Services, user: User) -> list[ReportSummary]:
    """Drafts still open (newest first); none for someone who may not draft reports."""
    try:
        return report_service(services, user_actor(user)).summaries(status=DRAFT, limit=50)
    except PermissionDeniedError:
        return []
