"""Persistence: SQLAlchemy models, the :class:`Store` and its migrations."""

from ohsc.store.db import Store, current_seq, next_seq, normalise_url

__all__ = ["Store", "current_seq", "next_seq", "normalise_url"]
