"""Series: stacks that share a camera (EXIF make, model and serial), a folder and close times.

Recomputed for the whole case after each ingest: one pass over its items sorted by camera,
folder and time, so the cost grows with the case, never with pairs of items.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ohsc.cases.models import CaseItemRow, CaseLocationRow


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
    """Set ``series_id`` of the case's items; returns how many series (of two stacks or more)."""
    first_folder = (
        select(CaseLocationRow.item_id, func.min(CaseLocationRow.folder).label("folder"))
        .group_by(CaseLocationRow.item_id)
        .subquery()
    )
    rows = session.execute(
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
    ).all()
    assignments: dict[int, int] = {}
    groups = 0
    current: list[tuple[int, int]] = []
    last_key: tuple[str, str] | None = None
    last_time: datetime | None = None

    def close() -> None:
        nonlocal groups
        stacks = {stack for _i, stack in current}
        if len(stacks) >= 2:
            groups += 1
            series = min(i for i, _s in current)
            for item_id, _stack in current:
                assignments[item_id] = series
        current.clear()

    for item_id, stack_id, camera, when, folder in rows:
        key = (folder or "", camera)
        if key != last_key or last_time is None or (when - last_time).total_seconds() > window_seconds:
            close()
        current.append((item_id, stack_id if stack_id is not None else item_id))
        last_key, last_time = key, when
    close()
    # items of a stack in a series belong to the series too
    stack_series: dict[int, int] = {}
    stack_by_item = {item_id: (stack_id or item_id) for item_id, stack_id, *_rest in rows}
    for item_id, series in sorted(assignments.items()):
        stack_series.setdefault(stack_by_item[item_id], series)
    session.execute(update(CaseItemRow).where(CaseItemRow.case_id == case_id).values(series_id=None))
    for stack, series in stack_series.items():
        session.execute(
            update(CaseItemRow)
            .where(CaseItemRow.case_id == case_id, CaseItemRow.stack_id == stack)
            .values(series_id=series)
        )
    return groups
