"""What every part of the report service shares: stores, destinations, roles, loading, checks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ohsc import audit
from ohsc.actor import ROLE_REVIEWER, ROLE_SYSTEM, Actor, has_any_role
from ohsc.errors import (
    ConfigError,
    ConflictError,
    PermissionDeniedError,
    ReportNotFoundError,
    ReportStateError,
)
from ohsc.evidence.service import EvidenceService, open_blob_store
from ohsc.media.blobs import BlobStore
from ohsc.reports import destinations as dest_registry
from ohsc.reports.destinations.base import ReportDestination
from ohsc.reports.snapshot import Provider, ReportSnapshot
from ohsc.reports.tables import (
    DRAFT,
    EDITABLE,
    ReportRow,
)
from ohsc.reports.validation import Problem, common_problems
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow

if TYPE_CHECKING:
    pass

log = logging.getLogger("ohsc.reports.service")


@dataclass(frozen=True, slots=True)
class DraftResult:
    """A saved draft and what it still lacks (errors block submission, warnings do not)."""

    report: ReportSnapshot
    problems: list[Problem]

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report.to_dict(), "problems": [p.to_dict() for p in self.problems]}


class ReportServiceBase:
    """Reports for one actor. ``progress`` receives one-line notes while submitting."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        actor: Actor,
        *,
        blobs: BlobStore | None = None,
        destination_factory: Callable[[str], ReportDestination] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self._blobs = blobs
        self._destination_factory = destination_factory
        self.progress = progress or (lambda message: log.info("%s", message))

    @cached_property
    def blobs(self) -> BlobStore:
        return self._blobs or open_blob_store(self.settings)

    @cached_property
    def evidence(self) -> EvidenceService:
        return EvidenceService(self.store, self.settings, self.actor, blobs=self.blobs)

    @property
    def provider(self) -> Provider:
        return Provider.from_settings(self.settings)

    def destination(self, name: str) -> ReportDestination:
        if self._destination_factory is not None:
            return self._destination_factory(name)
        return dest_registry.create(name, self.settings)

    # --- access ------------------------------------------------------------------------------

    def _require(self, roles: Iterable[str], what: str) -> None:
        allowed = set(roles)
        if has_any_role(self.actor, allowed):
            return
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor.name,
                action="report.denied",
                object_type="report",
                details={"wanted": what, "roles": sorted(self.actor.roles)},
            )
        raise PermissionDeniedError(
            f"{self.actor.name} may not {what}: it needs one of the roles {', '.join(sorted(allowed))}"
        )

    @property
    def _draft_roles(self) -> set[str]:
        return {*self.settings.report_roles, ROLE_REVIEWER, ROLE_SYSTEM}

    @property
    def _submit_roles(self) -> set[str]:
        return {*self.settings.report_roles, ROLE_SYSTEM}

    @property
    def _read_roles(self) -> set[str]:
        return {*self._draft_roles, *self.settings.evidence_roles}

    # --- loading -----------------------------------------------------------------------------

    @staticmethod
    def _load(s: Session, report_id: int, *, lock: bool = False) -> ReportRow:
        q = (
            select(ReportRow)
            .options(selectinload(ReportRow.files), selectinload(ReportRow.submissions))
            .where(ReportRow.id == report_id)
        )
        if lock:
            q = q.with_for_update()
        row = s.scalar(q)
        if row is None:
            raise ReportNotFoundError(f"no report {report_id}")
        return row

    @staticmethod
    def _editable(row: ReportRow, expected_version: int | None) -> None:
        if row.status not in EDITABLE:
            raise ReportStateError(f"report {row.id} is {row.status}: only drafts can be changed")
        if expected_version is not None and expected_version != row.version:
            raise ConflictError(
                f"report {row.id} was changed by someone else (version {row.version}, you edited "
                f"{expected_version}): reload it and apply your change again",
                detail={"version": row.version},
            )

    def _touch(self, s: Session, row: ReportRow) -> None:
        row.version += 1
        row.updated_at = utcnow()
        row.updated_by = self.actor.name
        if row.status != DRAFT:  # editing a failed report makes it a draft again
            row.status = DRAFT
            row.destinations = []
            for sub in list(row.submissions):
                s.delete(sub)

    # --- checks ------------------------------------------------------------------------------

    def destinations_of(self, report: ReportSnapshot) -> list[str]:
        """Fixed at the first submission; before that, from the jurisdictions and settings."""
        if report.destinations:
            return list(report.destinations)
        return dest_registry.destinations_for(self.settings, report.body.jurisdictions)

    def problems(self, report: ReportSnapshot) -> list[Problem]:
        provider = self.provider
        out = common_problems(report, provider)
        if report.body.jurisdictions:
            try:
                names = self.destinations_of(report)
            except ConfigError as exc:
                return [*out, Problem("configuration", exc.message)]
            if not names:
                out.append(
                    Problem(
                        "jurisdictions",
                        f"no destination is configured for {', '.join(report.body.jurisdictions)} "
                        "(OHSC_REPORT_DESTINATIONS)",
                    )
                )
            for name in names:
                out += self.destination(name).problems(report, provider)
        return out
