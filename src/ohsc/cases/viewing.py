"""What analysts see of a case's items: blurred greyscale previews of pictures, keyframe strips of
videos, recorded reveals and the revealed media. A part of
:class:`~ohsc.cases.service.CaseService` (which it is mixed into)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from ohsc import audit
from ohsc.cases.models import CaseItemRow, CaseRow
from ohsc.settings import Settings
from ohsc.store.db import Store


class CaseViewing:
    store: Store
    settings: Settings
    actor: str
    # CaseService's (declared for the type checker only: nothing here to call by mistake)
    _row: Callable[[Any, str | int], CaseRow]

    def preview(self, ref: str | int, item_id: int) -> bytes | None:
        """A small, greyscale, heavily blurred JPEG of a picture item, or a video item's keyframe
        strip (made here: nothing sharper reaches the browser); None when there is none."""
        from ohsc.cases.media import read_item
        from ohsc.review.previews import blurred_preview

        case = self._check_item(ref, item_id)
        with self.store.session() as s:
            kind, md5 = s.execute(
                select(CaseItemRow.media_kind, CaseItemRow.md5).where(CaseItemRow.id == item_id)
            ).one()
        if kind == "video":
            return self.strip(case.id, item_id, md5)
        data = read_item(self.store, self.settings, item_id)
        return None if data is None else blurred_preview(data, max_pixels=self.settings.max_image_pixels)

    def strip(self, case_id: int, item_id: int, md5: str) -> bytes | None:
        """A video item's keyframe strip (greyscale, blurred): the one kept at ingest, else made
        again from the video (and kept)."""
        from ohsc.cases.media import read_item
        from ohsc.cases.strips import encode, keep, keyframe_strip, read_strip

        kept = read_strip(self.settings.home, case_id, md5)
        if kept is not None:
            return kept
        data = read_item(self.store, self.settings, item_id)
        made = None if data is None else keyframe_strip(data)
        if made is not None:
            keep(self.settings.home, case_id, md5, encode(made))
        return made

    def _check_item(self, ref: str | int, item_id: int) -> CaseRow:
        from ohsc.errors import CaseItemNotFoundError

        with self.store.session() as s:
            case = self._row(s, ref)
            found = s.scalar(select(CaseItemRow.case_id).where(CaseItemRow.id == item_id))
            if found != case.id:
                raise CaseItemNotFoundError(f"no item {item_id} in case {case.name!r}")
            s.expunge(case)
            return case

    def reveal(self, ref: str | int, item_id: int, user_id: int, *, limit_reached: bool, grants: Any) -> str:
        """Record that an analyst is shown an item unblurred (audited; counted against the
        review exposure budget) and return the grant that unlocks it."""
        from ohsc.cases.models import CaseRevealRow
        from ohsc.errors import ExposureLimitError

        if limit_reached:
            raise ExposureLimitError(
                f"daily limit of {self.settings.review_daily_reveal_limit} media views reached; "
                "media stays blurred until tomorrow"
            )
        case = self._check_item(ref, item_id)
        with self.store.session() as s:
            s.add(CaseRevealRow(case_id=case.id, item_id=item_id, user_id=user_id))
            audit.record(
                s,
                actor=self.actor,
                action="case.reveal",
                object_type="case_item",
                object_id=item_id,
                details={"case_id": case.id},
            )
        return str(grants.make(item_id, "case", user_id))

    def media(self, ref: str | int, item_id: int, user_id: int, grant: str, *, grants: Any) -> bytes:
        from ohsc.cases.media import read_item
        from ohsc.errors import NotFoundError, PermissionDeniedError

        if not grants.check(grant, item_id, "case", user_id):
            raise PermissionDeniedError("reveal the item first")
        self._check_item(ref, item_id)
        data = read_item(self.store, self.settings, item_id)
        if data is None:
            raise NotFoundError(f"item {item_id}: no location can be read any more")
        return data
