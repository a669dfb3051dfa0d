"""Hashing crawled media: in the fetching thread, or in a pool of processes.

In one process, the fetching threads and the hashing share one interpreter lock; with
``OHSC_CRAWL_HASH_WORKERS`` set, pictures are hashed in that many processes (started with
``spawn``, importing only the hashing code, like ``ohsc scan``'s workers) while the threads go on
fetching. Both ways use the same options (:meth:`HashOptions.for_upload`: the crawl's hash mode,
the service's decoding limits, per process), so a picture gets the same hashes either way.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from ohsc.errors import OhscError
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


class MediaHasher:
    """Hashes media the way uploads are hashed: the signals, or the code of the error that
    stopped hashing (``hash_upload``'s: an empty body, over the size or decoding limits)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.options = HashOptions.for_upload(settings)
        self._pool: ProcessPoolExecutor | None = None
        if settings.crawl_hash_workers > 0:
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
        if self._pool is None:
            return _hash_with(data, self.options)
        return self._pool.submit(_hash, data).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
