"""What a Dask worker runs for a scan, a case ingest or a crawl: one batch of hashing jobs. Kept apart so that a worker
imports only the hashing code (numpy, Pillow, pdqhash), not the store, the matcher or Dask's
client side."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ohsc.scanning.worker import set_options
from ohsc.signals.files import HashOptions

Job = Callable[[str | None, bytes | None], object]


def hash_batch(
    job: Job, options: HashOptions, calls: Sequence[tuple[str | None, bytes | None]]
) -> list[object]:
    """Hash each ``(path, data)``; a job that raises costs its own result, not the batch's."""
    set_options(options)
    out: list[object] = []
    for path, data in calls:
        try:
            out.append(job(path, data))
        except Exception as exc:
            out.append(exc)
    return out
