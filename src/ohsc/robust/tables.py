"""What a robust bank keeps of each picture: one row per PDQ entry added from a picture."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from ohsc.store.models import Base, BigId, EntryRow
from ohsc.store.types import UTCDateTime, utcnow


class RobustDescriptorRow(Base):
    """The packed :class:`ohsc.robust.descriptor.RobustDescriptor` of a bank entry's picture.
    ``views`` (the view hashes, 224 bytes) is what the candidate index loads; ``data`` (all of
    it, about 12 KB) is read only for the candidates a query verifies."""

    __tablename__ = "robust_descriptors"
    __table_args__ = (Index("ix_robust_bank", "bank_id"),)

    entry_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(EntryRow.id, ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    views: Mapped[bytes] = mapped_column(LargeBinary)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
