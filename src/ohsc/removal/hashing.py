"""Hashing crawled media: in the fetching thread, or in a pool of processes.

In one process, the fetching threads and the hashing share one interpreter lock; with
``OHSC_CRAWL_HASH_WORKERS`` set, pictures are hashed in that many processes (started with
``spawn``, importing only the hashing code, like ``ohsc scan``'s workers) while the threads go on
fetching. Both ways use the same options (:meth:`HashOptions.for_upload`: the crawl's hash mode,
the service's decoding limits, per process), so a picture gets the same hashes either way.

On a Dask cluster (``ohsc crawl run --cluster ADDRESS``) the crawl's fetching threads hand the
bytes to an executor of batched tasks instead (:meth:`ohsc.cluster.DaskPool.executor`): each
batch is one Dask task of :func:`media_job` calls. The bytes then live in a worker's memory while
they are hashed, as they do in a local hashing process; the hashes come back and are matched here.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context

from ohsc.errors import ClusterUnavailableError, OhscError
from ohsc.scanning.pools import WorkerLostError
from ohsc.settings import Settings
from ohsc.signals.files import FileSignals, HashOptions, check_upload, hash_bytes

_OPTIONS: HashOptions | None = None


def _init(options: HashOptions) -> None:
    global _OPTIONS
    _OPTIONS = options


def _hash(data: bytes) -> FileSignals | str:
    """In a worker (error codes, not exceptions: those need not survive pickling)."""
    return _hash_with(data, _OPTIONS or HashOptions())


def _hash_with(data: bytes, options: HashOptions) -> FileSignals | str:
    try:
        return hash_bytes(data, options)
    except OhscError as exc:
        return exc.code


def media_job(path: str | None, data: bytes | None) -> FileSignals | str:
    """On a cluster's worker: the bytes' signals, with the options the batch set there
    (:func:`ohsc.scanning.worker.set_options`); an error's code, not the error."""
    from ohsc.scanning.worker import current_options

    assert data is not None, "the crawler sends bytes, never a path"
    return _hash_with(data, current_options())


class MediaHasher:
    """Hashes media the way uploads are hashed: the signals, or the code of the error that
    stopped hashing (``hash_upload``'s: an empty body, over the size or decoding limits).

    ``remote``: an executor of ``submit(job, path, data)`` calls that runs elsewhere (a Dask
    cluster's batches, made with :attr:`options`) instead of this process or its own pool."""

    def __init__(self, settings: Settings, remote: Executor | None = None) -> None:
        self.settings = settings
        self.options = HashOptions.for_upload(settings)
        self._remote = remote
        self._pool: ProcessPoolExecutor | None = None
        if settings.crawl_hash_workers > 0 and remote is None:
            os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker, no oversubscription
            self._pool = ProcessPoolExecutor(
                max_workers=settings.crawl_hash_workers,
                mp_context=get_context("spawn"),
                initializer=_init,
                initargs=(self.options,),
            )

    def __call__(self, data: bytes) -> FileSignals | str:
        try:
            check_upload(data, self.settings)
        except OhscError as exc:
            return exc.code
        if self._remote is not None:
            try:
                result: FileSignals | str = self._remote.submit(media_job, None, data).result()
            except WorkerLostError:  # the batch killed its workers more often than Dask retries
                return "worker_crash"
            except ClusterUnavailableError:
                raise  # the crawl stops; its leased URLs are taken again by the next run
            return result
        if self._pool is None:
            return _hash_with(data, self.options)
        return self._pool.submit(_hash, data).result()

    def close(self) -> None:
        if self._remote is not None:
            self._remote.shutdown(wait=False, cancel_futures=True)
            self._remote = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
