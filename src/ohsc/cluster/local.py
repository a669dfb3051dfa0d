"""A Dask cluster on this machine, for trying cluster scans (``ohsc cluster local``) and for tests."""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any

from ohsc.cluster.pool import _distributed

if TYPE_CHECKING:
    from distributed import LocalCluster

#: Dask settings of the clusters :func:`start_local` starts (docs/benchmarks.md, "Scanning on a
#: Dask cluster", has what each costs a scan on two cores)
LOCAL_CONFIG: dict[str, Any] = {
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's
    # adaptive mmap threshold: every decoded picture's buffers are then mapped and unmapped again
    # per file, about 40 % more CPU for hashing (a worker frees all of it after each file anyway)
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # the statistical profiler samples the worker's threads 100 times a second, on its event loop
    "distributed.worker.profile.enabled": False,
    # the health checks of every event loop (scheduler, nannies, workers): 50 and 2 times a second
    # by default; an idle 2-worker cluster then costs about 3 % of a core, half that with these
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}


def start_local(
    workers: int, *, threads: int = 1, host: str = "127.0.0.1", port: int = 0, memory_limit: str = "auto"
) -> LocalCluster:
    """A scheduler on ``host:port`` (0: any free port) and ``workers`` worker processes of
    ``threads`` threads each, each restarted by its nanny when it dies. No dashboard (it would need
    bokeh, and a web page nobody asked for)."""
    distributed = _distributed()
    import dask.config

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one core per worker thread, no oversubscription
    with dask.config.set(LOCAL_CONFIG):
        # a copy for the workers: a nanny's own shares its nested parts with the global
        # configuration, so a worker it restarts after this block would get Dask's defaults back
        worker_config = copy.deepcopy(dask.config.config)
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
            config=worker_config,
        )
    return cluster
