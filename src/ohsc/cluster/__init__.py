"""Scans on a Dask cluster: hashing as batched tasks on Dask workers, everything else unchanged.

The scanning process walks the source, expands archives, matches and writes the journal as it
does for a local scan; only hashing moves to the cluster (:class:`DaskPool`, a
:class:`ohsc.scanning.pools.HashPool`). So ``--resume``, the progress bar and the summary are the
same code for both. Needs the ``cluster`` extra (``pip install 'ohsc[cluster]'``).
"""

from __future__ import annotations

from ohsc.cluster.pool import DaskPool, connect

__all__ = ["DaskPool", "connect"]
