"""Fetch the next page while the current one is applied (one page ahead, never more: memory
stays at two pages however long the list)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetched(pages: Iterator[T]) -> Generator[T, None, None]:
    """The items of ``pages`` in order, the next one read in a thread while the caller works on
    the current one. An exception of the reader is raised where its item would have come; a
    caller that stops early leaves the reader blocked on a full queue until it is collected
    (it holds one page at most)."""
    box: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            for item in pages:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_END)
        except BaseException as exc:  # handed to the caller, raised there
            box.put(exc)

    thread = threading.Thread(target=read, name="exchange-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                thread.join(0.05)
