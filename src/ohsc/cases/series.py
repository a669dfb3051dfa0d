"""Series: stacks that share a camera (EXIF make, model and serial), a folder and close times.

Recomputed for the whole case after each ingest: one pass over its items sorted by camera,
folder and time, so the cost grows with the case, never with pairs of items; the items are
streamed, not held.
"""

from __future__ import annotations

from array import array
from datetime import UTC, datetime

from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from ohsc.cases.models import CaseItemRow, CaseLocationRow, CaseSourceRow


def camera_of(exif: dict[str, str]) -> str | None:
    """``make model serial`` from EXIF text fields, or None without make and model."""
    parts = [exif.get(k, "").strip() for k in ("Make", "Model", "BodySerialNumber")]
    if not parts[0] and not parts[1]:
        return None
    return " ".join(p for p in parts if p)[:300]


def taken_at(exif: dict[str, str]) -> datetime | None:
    """When the picture was taken (``DateTimeOriginal``, else ``DateTime``), read as UTC."""
    for key in ("DateTimeOriginal", "DateTimeDigitized", "DateTime"):
        text = exif.get(key)
        if not text:
            continue
        try:
            return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def regroup(session: Session, case_id: int, window_seconds: int) -> int:
    """Set ``series_id`` of the case's items; returns how many series (of two stacks or more).

    The items are read as a stream, one run of camera and folder at a time; what is kept is two
    integers for each item placed in a series. The database then gives every item the series of
    the first (lowest id) item of its stack that is in one: items of a stack in a series belong
    to it too. A few statements in all, whatever the number of series."""
    members = array("q")  # item id, series, item id, series, ...
    groups = 0
    current: list[tuple[int, int]] = []
    last_key: tuple[str, str] | None = None
    last_time: datetime | None = None

    def close() -> None:
        nonlocal groups
        if len({stack for _i, stack in current}) >= 2:
            groups += 1
            series = min(i for i, _s in current)
            for item_id, _stack in current:
                members.extend((item_id, series))
        current.clear()

    for item_id, stack_id, camera, when, folder in session.execute(
        _camera_items(case_id).execution_options(yield_per=2000)
    ):
        key = (folder or "", camera)
        if key != last_key or last_time is None or (when - last_time).total_seconds() > window_seconds:
            close()
        current.append((item_id, stack_id if stack_id is not None else item_id))
        last_key, last_time = key, when
    close()
    table: Table = CaseItemRow.__table__  # type: ignore[assignment]
    conn = session.connection()
    conn.execute(update(table).where(table.c.case_id == case_id).values(series_id=None))
    for start in range(0, len(members), 2 * _CHUNK):
        chunk = members[start : start + 2 * _CHUNK]
        conn.execute(
            update(table).where(table.c.id == bindparam("item")).values(series_id=bindparam("series")),
            [{"item": chunk[k], "series": chunk[k + 1]} for k in range(0, len(chunk), 2)],
        )
    if members:
        first = table.alias("earliest")
        conn.execute(
            update(table)
            .where(table.c.case_id == case_id, table.c.stack_id.is_not(None))
            .values(
                series_id=select(first.c.series_id)
                .where(
                    first.c.case_id == case_id,
                    first.c.stack_id == table.c.stack_id,
                    first.c.series_id.is_not(None),
                )
                .order_by(first.c.id)
                .limit(1)
                .scalar_subquery()
            )
        )
    return groups


#: rows of one executemany
_CHUNK = 5000


def _camera_items(case_id: int) -> Select[int, int | None, str, datetime, str]:
    """The case's items with a camera and a time, with their first folder, in series order."""
    sources = select(CaseSourceRow.id).where(CaseSourceRow.case_id == case_id)
    first_folder = (
        select(CaseLocationRow.item_id, func.min(CaseLocationRow.folder).label("folder"))
        .where(CaseLocationRow.source_id.in_(sources))
        .group_by(CaseLocationRow.item_id)
        .subquery()
    )
    return (
        select(
            CaseItemRow.id,
            CaseItemRow.stack_id,
            CaseItemRow.camera,
            CaseItemRow.taken_at,
            first_folder.c.folder,
        )
        .join(first_folder, first_folder.c.item_id == CaseItemRow.id)
        .where(
            CaseItemRow.case_id == case_id, CaseItemRow.camera.is_not(None), CaseItemRow.taken_at.is_not(None)
        )
        .order_by(first_folder.c.folder, CaseItemRow.camera, CaseItemRow.taken_at, CaseItemRow.id)
    )
