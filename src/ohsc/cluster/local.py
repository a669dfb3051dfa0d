"""A Dask cluster on this machine, for trying cluster scans (``ohsc cluster local``) and for tests."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ohsc.cluster.pool import _distributed

if TYPE_CHECKING:
    from distributed import LocalCluster


def start_local(
    workers: int, *, threads: int = 1, host: str = "127.0.0.1", port: int = 0, memory_limit: str = "auto"
) -> LocalCluster:
    """A scheduler on ``host:port`` (0: any free port) and ``workers`` worker processes of
    ``threads`` threads each, each restarted by its nanny when it dies. No dashboard (it would need
    bokeh, and a web page nobody asked for)."""
    distributed = _distributed()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one core per worker thread, no oversubscription
    cluster: LocalCluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=threads,
        processes=True,
        host=host,
        scheduler_port=port,
        dashboard_address=None,
        # the scheduler's HTTP server (health, metrics) starts even without the dashboard, by
        # default on port 8787: any free loopback port instead, so two clusters can run at once
        scheduler_kwargs={"dashboard_address": f"{host}:0"},
        memory_limit=memory_limit,
    )
    return cluster
