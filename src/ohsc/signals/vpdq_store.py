"""The frames of every vPDQ a bank holds: one row per distinct frame list, keyed by vPDQ id.

Bank entries of type ``vpdq`` store the id as their value, so the frames are shared by every
entry (in any bank) with the same frames, survive retraction (a restore needs them), and go
when the last entry referring to them does (:func:`purge_unreferenced`, run after a bank is
deleted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ohsc.signals.vpdq_frames import FrameArrays, VpdqFrame, pack, sort_frames, unpack, vpdq_id
from ohsc.store.models import Base, EntryRow
from ohsc.store.types import UTCDateTime, utcnow

LOAD_BATCH = 500


class VpdqFramesRow(Base):
    __tablename__ = "vpdq_frames"

    #: the vPDQ id (``vpdq-`` + SHA-256 of the frames)
    ref: Mapped[str] = mapped_column(String(80), primary_key=True)
    frame_count: Mapped[int] = mapped_column(Integer)
    #: time of the last frame, in milliseconds
    last_ms: Mapped[int] = mapped_column(BigInteger)
    #: :func:`ohsc.signals.vpdq_frames.pack`: frame numbers, milliseconds, qualities, PDQ codes
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def frames_exist(session: Session, ref: str) -> bool:
    return session.scalar(select(VpdqFramesRow.ref).where(VpdqFramesRow.ref == ref)) is not None


def store_frames(session: Session, frames: Sequence[VpdqFrame]) -> str:
    """Keep frames (once per distinct list) and return their vPDQ id."""
    frames = sort_frames(frames)
    ref = vpdq_id(frames)
    row = session.get(VpdqFramesRow, ref)
    if row is not None:
        if any(f.variants for f in frames) and not unpack(bytes(row.data)).has_variants:
            row.data = pack(frames)  # the same frames, now with variants for matching
        return ref
    values = {
        "ref": ref,
        "frame_count": len(frames),
        "last_ms": round(frames[-1].timestamp * 1000) if frames else 0,
        "data": pack(frames),
        "created_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(VpdqFramesRow).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(VpdqFramesRow).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        session.add(VpdqFramesRow(**values))
    return ref


def load_frames(session: Session, refs: Sequence[str]) -> dict[str, FrameArrays]:
    """Frames by vPDQ id; ids the store does not hold are left out."""
    out: dict[str, FrameArrays] = {}
    wanted = sorted(set(refs))
    for start in range(0, len(wanted), LOAD_BATCH):
        chunk = wanted[start : start + LOAD_BATCH]
        for ref, data in session.execute(
            select(VpdqFramesRow.ref, VpdqFramesRow.data).where(VpdqFramesRow.ref.in_(chunk))
        ):
            out[ref] = unpack(bytes(data))
    return out


def purge_unreferenced(session: Session) -> int:
    """Delete frames no bank entry refers to (after a bank was deleted)."""
    used = select(EntryRow.value).where(EntryRow.signal_type == "vpdq")
    result = session.execute(delete(VpdqFramesRow).where(VpdqFramesRow.ref.not_in(used)))
    return int(getattr(result, "rowcount", 0) or 0)
