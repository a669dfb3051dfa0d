"""An item's bytes, read again from where it was found (originals are only ever read), for the
grid's blurred previews and for recorded reveals. Reveals count against the review queue's
exposure budget (:data:`ohsc.review.viewing.REVEAL_COUNTERS`)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ohsc.cases.models import CaseLocationRow, CaseRevealRow, CaseSourceRow
from ohsc.review.viewing import register_reveal_counter
from ohsc.scanning.archives import ArchiveLimits, expand
from ohsc.scanning.items import MEMBER_SEP
from ohsc.settings import Settings
from ohsc.store.db import Store


def _count_reveals(s: Session, user_id: int, since: datetime) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(CaseRevealRow)
            .where(CaseRevealRow.user_id == user_id, CaseRevealRow.at >= since)
        )
        or 0
    )


register_reveal_counter(_count_reveals)


def _inside(root: Path, rel: str) -> Path | None:
    path = (root / rel).resolve()
    return path if path.is_relative_to(root) else None


def _from_archive(archive: Path | bytes, archive_id: str, member_id: str, settings: Settings) -> bytes | None:
    with tempfile.TemporaryDirectory(prefix="ohsc-case-") as tmp:
        limits = ArchiveLimits.from_settings(settings, Path(tmp))
        for item in expand(archive_id, archive, limits):
            if item.id == member_id and item.error is None:
                if item.data is not None:
                    return item.data
                if item.path is not None:
                    return item.path.read_bytes()
            elif item.temporary and item.path is not None:
                item.path.unlink(missing_ok=True)
    return None


def read_item(store: Store, settings: Settings, item_id: int) -> bytes | None:
    """The item's bytes from the first of its locations that can still be read."""
    with store.session() as s:
        rows = s.execute(
            select(CaseLocationRow.path, CaseSourceRow.kind, CaseSourceRow.path)
            .join(CaseSourceRow, CaseSourceRow.id == CaseLocationRow.source_id)
            .where(CaseLocationRow.item_id == item_id)
            .order_by(CaseLocationRow.id)
            .limit(20)
        ).all()
    for rel, kind, source in rows:
        root = Path(source)
        try:
            if kind == "disk":
                from ohsc.cases.disk import read_file

                archive_id = rel.split(MEMBER_SEP, 1)[0]
                data = read_file(root, archive_id)
                if data is not None and MEMBER_SEP in rel:
                    data = _from_archive(data, archive_id, rel, settings)
            elif MEMBER_SEP in rel:
                archive_id = rel.split(MEMBER_SEP, 1)[0]
                outer = root if kind in ("archive", "file") else _inside(root, archive_id)
                data = _from_archive(outer, archive_id, rel, settings) if outer is not None else None
            elif kind == "folder":
                path = _inside(root, rel)
                data = path.read_bytes() if path is not None and path.is_file() else None
            elif kind in ("file", "archive"):
                data = root.read_bytes()
            else:
                data = None
        except OSError:
            data = None
        if data is not None:
            return data
    return None
