"""Who may touch evidence, and the audit of every refusal: the base of the evidence service."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ohsc import audit
from ohsc.actor import Actor, has_any_role
from ohsc.errors import EvidenceNotFoundError, InvalidInputError, OhscError, PermissionDeniedError
from ohsc.evidence.tables import EvidenceItemRow
from ohsc.media.blobs import BlobStore, LocalEncryptedBlobStore, load_or_create_key
from ohsc.settings import Settings
from ohsc.store.db import Store

NAMESPACE = "evidence"


def open_blob_store(settings: Settings) -> BlobStore:
    """The content store every OHSC service shares: encrypted files under ``OHSC_HOME/blobs``."""
    key = load_or_create_key(settings.content_key, settings.home / "content.key")
    return LocalEncryptedBlobStore(settings.blobs_dir, key)


class EvidenceAccess:
    """Evidence for one actor. ``blobs`` defaults to the local encrypted store."""

    def __init__(
        self, store: Store, settings: Settings, actor: Actor, blobs: BlobStore | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self._blobs = blobs

    @cached_property
    def blobs(self) -> BlobStore:
        return self._blobs or open_blob_store(self.settings)

    # --- access control ----------------------------------------------------------------------

    @property
    def _content_roles(self) -> set[str]:
        return set(self.settings.evidence_roles)

    @property
    def _metadata_roles(self) -> set[str]:
        return set(self.settings.evidence_roles) | set(self.settings.report_roles)

    def refuse(self, action: str, object_id: object = None, *, reason: str, denied: bool = True) -> None:
        """Audit a refused attempt (``<action>.denied``, or ``.refused`` when not ``denied``) in its
        own transaction: for refusals made before the service is reached (a web role, CSRF)."""
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor.name,
                action=f"{action}.{'denied' if denied else 'refused'}",
                object_type="evidence",
                object_id=None if object_id is None else str(object_id),
                details={"reason": reason, "roles": sorted(self.actor.roles)},
            )

    @contextmanager
    def _refusals(self, action: str, object_id: object = None) -> Iterator[None]:
        """Audit an attempt that fails (no such item or hold, purged, bad input) as ``.refused``."""
        try:
            yield
        except PermissionDeniedError:
            raise  # audited as .denied where it was raised
        except OhscError as exc:
            self.refuse(action, object_id, reason=exc.code, denied=False)
            raise

    def _require(self, allowed: Iterable[str], action: str, what: str, object_id: object = None) -> None:
        allowed = set(allowed)
        if has_any_role(self.actor, allowed):
            return
        self.refuse(action, object_id, reason="forbidden")
        raise PermissionDeniedError(
            f"{self.actor.name} may not {what}: it needs one of the roles {', '.join(sorted(allowed))}"
        )

    # --- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _by_key(s: Session, source_key: str) -> EvidenceItemRow | None:
        return s.scalar(
            select(EvidenceItemRow)
            .options(selectinload(EvidenceItemRow.holds))
            .where(EvidenceItemRow.source_key == source_key)
        )

    @staticmethod
    def _row(s: Session, item_id: int) -> EvidenceItemRow:
        row = s.scalar(
            select(EvidenceItemRow)
            .options(selectinload(EvidenceItemRow.holds))
            .where(EvidenceItemRow.id == item_id)
        )
        if row is None:
            raise EvidenceNotFoundError(f"no evidence item {item_id}")
        return row

    def _select(
        self, s: Session, item_ids: Sequence[int], subject: tuple[str, str] | None
    ) -> list[EvidenceItemRow]:
        if subject is not None:
            rows = list(
                s.scalars(
                    select(EvidenceItemRow)
                    .where(
                        EvidenceItemRow.subject_type == subject[0],
                        EvidenceItemRow.subject_id == subject[1],
                        EvidenceItemRow.purged_at.is_(None),
                    )
                    .order_by(EvidenceItemRow.id)
                )
            )
            if not rows:
                raise EvidenceNotFoundError(f"no preserved evidence for {subject[0]} {subject[1]}")
            return rows
        if not item_ids:
            raise InvalidInputError("name the evidence items (ids) or a report")
        return [self._row(s, i) for i in item_ids]
