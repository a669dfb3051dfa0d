"""``ohsc cluster local``: a Dask cluster on this machine for trying ``ohsc scan --cluster``."""

from __future__ import annotations

import threading

import click

from ohsc.cli.app import err, out


@click.group("cluster")
def cluster() -> None:
    """Dask clusters for scans (`ohsc scan --cluster ADDRESS`). Multi-machine set-up: docs/scanning.md."""


@cluster.command("local")
@click.option(
    "--workers", type=click.IntRange(1, 256), default=2, show_default=True, help="Worker processes."
)
@click.option(
    "--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="Threads per worker."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the scheduler listens on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8786, show_default=True, help="Scheduler port (0: any)."
)
def local(workers: int, threads: int, host: str, port: int) -> None:
    """Start a scheduler and WORKERS worker processes here, print the address, run until Ctrl-C.

    Then, in another shell: ohsc scan FOLDER --cluster ADDRESS (or OHSC_DASK_SCHEDULER=ADDRESS).
    """
    from ohsc.cluster.local import start_local

    cluster = start_local(workers, threads=threads, host=host, port=port)
    try:
        out.print(cluster.scheduler_address, soft_wrap=True, highlight=False)
        err.print(f"{workers} workers x {threads} threads; Ctrl-C stops the cluster")
        threading.Event().wait()
    except KeyboardInterrupt:
        err.print("stopping the cluster")
    finally:
        cluster.close()
