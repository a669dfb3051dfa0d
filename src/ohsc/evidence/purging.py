"""Purging evidence whose retention period and every hold have ended, item by item, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ohsc import audit
from ohsc.actor import ROLE_SYSTEM
from ohsc.evidence.access import NAMESPACE, EvidenceAccess
from ohsc.evidence.model import EvidenceItem
from ohsc.evidence.tables import EvidenceItemRow
from ohsc.store.types import utcnow
from ohsc.store.unit import unit_of_work

#: How many item ids one audit event names.
_LIST_IDS_IN_AUDIT = 500


@dataclass(frozen=True, slots=True)
class PurgeResult:
    items: list[EvidenceItem]
    dry_run: bool

    @property
    def count(self) -> int:
        return len(self.items)


class EvidencePurging(EvidenceAccess):
    # --- purging -----------------------------------------------------------------------------

    def purge(self, *, now: datetime | None = None, dry_run: bool = False) -> PurgeResult:
        """Delete every item whose retention period (and every hold) has ended. Logged per item.

        The server runs this on a schedule as :data:`ohsc.actor.SYSTEM`; ``ohsc evidence purge``
        runs it by hand. The row is marked purged and the content deleted once that commits
        (:mod:`ohsc.store.unit`): a failed run leaves the item, content and all, to the next run,
        and no row ever names content that is gone.
        """
        self._require(self._content_roles | {ROLE_SYSTEM}, "evidence.purge", "purge evidence")
        now = now or utcnow()
        with self.store.session() as s:
            rows = list(
                s.scalars(
                    select(EvidenceItemRow)
                    .options(selectinload(EvidenceItemRow.holds))
                    .where(EvidenceItemRow.purged_at.is_(None), EvidenceItemRow.retain_until <= now)
                    .order_by(EvidenceItemRow.id)
                )
            )
            due = [EvidenceItem.from_row(r) for r in rows]
            due = [i for i in due if i.due(now)]
            if dry_run:
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="evidence.purge_preview",
                    object_type="evidence",
                    details={"count": len(due), "ids": [i.id for i in due[:_LIST_IDS_IN_AUDIT]]},
                )
                return PurgeResult(due, dry_run=True)
        done: list[EvidenceItem] = []
        for item in due:
            with unit_of_work(self.store, self.blobs) as work:
                s = work.session
                row = self._row(s, item.id)
                if row.purged_at is not None:
                    continue
                work.release(NAMESPACE, row.blob_id)  # deleted once the row is marked
                row.blob_id = None
                row.purged_at = now
                row.purged_by = self.actor.name
                audit.record(
                    s,
                    actor=self.actor.name,
                    action="evidence.purge",
                    object_type="evidence",
                    object_id=row.id,
                    details={
                        "source_key": row.source_key,
                        "sha256": row.sha256,
                        "retain_until": row.retain_until.isoformat(),
                        "reason": "retention period ended",
                    },
                )
                done.append(EvidenceItem.from_row(row))
        return PurgeResult(done, dry_run=False)
