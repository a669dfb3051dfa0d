"""How much memory decoding pictures may take: per picture, and for all the pictures one process
decodes at the same time.

A PNG of 10,000 x 9,999 black pixels is 291 KB on the wire and gigabytes decoded, so the service
cannot let the size of an upload stand for its cost. Before a picture is decoded, the hashing
code estimates what decoding and hashing it will hold in memory (from its header, the format's
reduced decode and the hash mode: :func:`ohsc.signals.pdq.decode_cost`) and reserves that much
of a per-process budget:

* more decoded pixels than ``max_pixels`` or more bytes than ``max_bytes``: refused at once
  (:class:`~ohsc.errors.ImageTooLargeError`, 413);
* while other decodes hold the budget, the request waits up to ``wait_seconds`` for its share,
  then gives up (:class:`~ohsc.errors.DecodeBusyError`, 503 with Retry-After).

The service sets these limits (``OHSC_UPLOAD_MAX_IMAGE_PIXELS``, ``OHSC_IMAGE_DECODE_MAX_MB``,
``OHSC_IMAGE_DECODE_BUDGET_MB``, ``OHSC_IMAGE_DECODE_WAIT_SECONDS``); scans hash one file per worker
process and set none.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ohsc.errors import DecodeBusyError, ImageTooLargeError

MIB = 1 << 20


class MemoryBudget:
    """Bytes shared by every decode of one process (threads wait their turn)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, nbytes: int, wait_seconds: float) -> Iterator[None]:
        nbytes = min(nbytes, self.capacity)
        deadline = time.monotonic() + wait_seconds
        with self._changed:
            while self.used + nbytes > self.capacity:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DecodeBusyError(
                        f"other pictures are being decoded; the server's decoding memory "
                        f"(OHSC_IMAGE_DECODE_BUDGET_MB, {self.capacity // MIB} MiB) stayed full for "
                        f"{wait_seconds:g} s: try again shortly",
                        retry_after=max(1.0, wait_seconds / 2),
                    )
                self._changed.wait(left)
            self.used += nbytes
        try:
            yield
        finally:
            if nbytes >= TRIM_ABOVE:
                release_free_memory()
            with self._changed:
                self.used -= nbytes
                self._changed.notify_all()


#: after a decode this large, freed heap pages go back to the operating system at once
TRIM_ABOVE = 32 * MIB
_libc: ctypes.CDLL | None = None
if sys.platform == "linux":
    try:
        _libc = ctypes.CDLL("libc.so.6")
        _libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        _libc = None


def release_free_memory() -> None:
    """Give freed heap memory back to the operating system (glibc ``malloc_trim``).

    glibc keeps what a thread freed in that thread's arena, so without this a server's resident
    memory would stay at the sum of every worker thread's largest decode, however the budget
    spaces the decodes out."""
    if _libc is not None:
        _libc.malloc_trim(0)


_budgets: dict[int, MemoryBudget] = {}
_budgets_lock = threading.Lock()


def shared_budget(capacity: int) -> MemoryBudget:
    """The process's budget of that size (one per process, whoever asks)."""
    with _budgets_lock:
        budget = _budgets.get(capacity)
        if budget is None:
            budget = _budgets[capacity] = MemoryBudget(capacity)
        return budget


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """What decoding one picture may take; None: no limit of that kind."""

    #: decoded pixels (after reduced decode, e.g. JPEG at 1/8 scale)
    max_pixels: int | None = None
    #: estimated peak bytes of decoding and hashing one picture
    max_bytes: int | None = None
    #: bytes all the decodes of this process may hold together
    budget_bytes: int | None = None
    wait_seconds: float = 10.0

    @contextmanager
    def reserve(self, pixels: int, nbytes: int, what: str = "picture") -> Iterator[None]:
        """Hold ``nbytes`` of the budget while decoding ``pixels`` (refused when over a limit)."""
        if self.max_pixels is not None and pixels > self.max_pixels:
            raise ImageTooLargeError(
                f"the {what} decodes to {pixels} pixels, above the service's limit of "
                f"{self.max_pixels} (OHSC_UPLOAD_MAX_IMAGE_PIXELS): send its hashes instead",
                detail={"pixels": pixels, "limit": self.max_pixels},
            )
        if self.max_bytes is not None and nbytes > self.max_bytes:
            raise ImageTooLargeError(
                f"the {what} needs about {nbytes // MIB} MiB to decode and hash, above the limit of "
                f"{self.max_bytes // MIB} MiB a picture (OHSC_IMAGE_DECODE_MAX_MB): send its hashes instead",
                detail={"bytes": nbytes, "limit": self.max_bytes},
            )
        if self.budget_bytes is None:
            yield
            return
        with shared_budget(self.budget_bytes).hold(nbytes, self.wait_seconds):
            yield


@contextmanager
def reserve(limits: DecodeLimits | None, pixels: int, nbytes: int, what: str = "picture") -> Iterator[None]:
    """:meth:`DecodeLimits.reserve`, or nothing without limits."""
    if limits is None:
        yield
        return
    with limits.reserve(pixels, nbytes, what):
        yield
