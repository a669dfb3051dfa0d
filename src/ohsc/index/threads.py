"""How many OpenMP threads the index library (faiss) uses for a query.

faiss parallelises a search over its queries, and OHSC asks one query at a time (a request, a
scanned file): with more than one thread the others only wait at the region's barrier, spinning
on a core. A server process per core, each with an OpenMP team as wide as the machine, then
keeps every core busy with spinning threads while requests wait (issue 10, item 10: two
processes served a quarter of what one served; in-process, a 200k-code range search ran 3,100
queries per CPU second on one thread and 100 on two on the loaded 2-core machine).

OpenMP's thread count (libgomp's ``nthreads-var``) belongs to each calling thread, and server
threads are not OpenMP threads: :func:`limit_calling_thread` sets it on the thread that is about
to search, once per thread and whenever :func:`configure` changes it.
"""

from __future__ import annotations

import os
import threading

#: threads per query unless configured (OHSC_INDEX_THREADS)
DEFAULT_THREADS = 1

_local = threading.local()
_state = {"threads": DEFAULT_THREADS, "generation": 0}
_lock = threading.Lock()


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def effective_threads(wanted: int, processes: int = 1, cores: int | None = None) -> int:
    """``wanted`` threads, but never more than this process's share of the cores."""
    share = max(1, (cores if cores is not None else usable_cores()) // max(1, processes))
    return max(1, min(wanted, share))


def configure(threads: int) -> None:
    """Threads per query from now on, for every thread of this process."""
    with _lock:
        _state["threads"] = max(1, int(threads))
        _state["generation"] += 1


def query_threads() -> int:
    return _state["threads"]


def limit_calling_thread() -> None:
    """Give the calling thread's OpenMP calls the configured thread count (cheap when done)."""
    generation = _state["generation"]
    if getattr(_local, "generation", None) == generation:
        return
    import faiss

    faiss.omp_set_num_threads(_state["threads"])
    _local.generation = generation
