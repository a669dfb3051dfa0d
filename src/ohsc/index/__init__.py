"""Indexes: find signals in banks. Exact for digests, range search without misses for PDQ."""

from ohsc.index.base import IndexHit, SignalIndex
from ohsc.index.exact import ExactIndex
from ohsc.index.linear import LinearPdqIndex
from ohsc.index.manager import IndexSet, SyncResult
from ohsc.index.pdq_index import PdqIndex

__all__ = ["ExactIndex", "IndexHit", "IndexSet", "LinearPdqIndex", "PdqIndex", "SignalIndex", "SyncResult"]
