"""Scan a folder, zip or tar(.gz): hash every file on all cores, match, record, show progress.

The main process walks the source (in a thread), expands archives, matches and writes the
journal; worker processes hash. Memory stays bounded: at most ``workers * 4`` items are in
flight and archive members travel as bytes only up to 32 MB (larger ones via a temp file).
A worker that dies (a decoder crash on a hostile file) is replaced; the items it held are retried
one at a time, and the one that crashes again gets an error record.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ohsc import audit
from ohsc.scanning.archives import ArchiveLimits, expand
from ohsc.scanning.items import Item
from ohsc.scanning.pipeline import DONE, HashPipeline
from ohsc.scanning.walker import count_files, walk
from ohsc.scanning.worker import hash_job
from ohsc.settings import Settings
from ohsc.signals.files import FileSignals, HashOptions
from ohsc.signals.sniff import SNIFF_BYTES, archive_kind

if TYPE_CHECKING:  # ``ohsc hash`` scans without matching: no store, no index
    from ohsc.matching.matcher import Matcher
    from ohsc.robust.descriptor import Query
    from ohsc.scanning.pools import HashPool


class ProgressSink(Protocol):
    def add_total(self, n: int) -> None: ...

    def set_total(self, n: int) -> None: ...

    def advance(self, record: dict[str, Any]) -> None: ...


class _NoProgress:
    def add_total(self, n: int) -> None:
        pass

    def set_total(self, n: int) -> None:
        pass

    def advance(self, record: dict[str, Any]) -> None:
        pass


@dataclass(frozen=True, slots=True)
class ScanOptions:
    workers: int = 1
    hash: HashOptions = field(default_factory=HashOptions)
    expand_archives: bool = True
    #: item ids already finished (``--resume``)
    skip: frozenset[str] = frozenset()
    match: bool = True
    #: the function workers run: ``job(path, data) -> FileSignals`` (a module-level function)
    job: Callable[[str | None, bytes | None], FileSignals] = hash_job
    #: hash in this process, no worker pool (small jobs: no start-up cost; debugging)
    inline: bool = False
    #: item ids start with the root path as given (always so with several roots)
    ids_as_given: bool = False
    #: hash somewhere else (a Dask cluster: ``ohsc.cluster``); None: local worker processes
    pool: HashPool | None = None


@dataclass(slots=True)
class ScanSummary:
    files: int = 0
    hashed: int = 0
    matched: int = 0
    errors: int = 0
    suppressed: int = 0
    low_quality: int = 0
    resumed_skipped: int = 0
    bytes: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    interrupted: bool = False

    @property
    def rate(self) -> float:
        return self.files / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "hashed": self.hashed,
            "matched": self.matched,
            "errors": self.errors,
            "suppressed": self.suppressed,
            "low_quality": self.low_quality,
            "resumed_skipped": self.resumed_skipped,
            "bytes": self.bytes,
            "kinds": dict(self.kinds),
            "error_codes": dict(self.error_codes),
            "elapsed_s": round(self.elapsed, 3),
            "files_per_s": round(self.rate, 1),
            "interrupted": self.interrupted,
        }


def _count_url(url: str) -> int:
    from ohsc.scanning.remote import count_url

    return count_url(url)


class Scanner:
    """Run scans. ``matcher`` None hashes without matching (``ohsc hash``). A scan that matches
    records a ``scan.run`` audit event when it ends (``actor`` is who ran it), whoever calls it."""

    def __init__(self, settings: Settings, matcher: Matcher | None, *, actor: str = "library") -> None:
        self.settings = settings
        self.matcher = matcher
        self.actor = actor

    # --- sources ---------------------------------------------------------------------------------

    def _items(
        self, roots: list[Path | str], options: ScanOptions, limits: ArchiveLimits, progress: ProgressSink
    ) -> Iterator[Item]:
        many = len(roots) > 1 or options.ids_as_given
        for root in roots:
            prefix = str(root) if many else None
            if isinstance(root, str):  # an fsspec URL
                yield from self._url_items(root, prefix, options, limits, progress)
            else:
                yield from self._root_items(root, prefix, options, limits, progress)

    def _url_items(
        self,
        url: str,
        prefix: str | None,
        options: ScanOptions,
        limits: ArchiveLimits,
        progress: ProgressSink,
    ) -> Iterator[Item]:
        """Objects in a store; an archive among them is copied to a temporary file and expanded."""
        from ohsc.scanning.remote import download, read_head, walk_url

        for item in walk_url(url, prefix):
            yield item
            if item.url is None or not options.expand_archives or limits.max_depth <= 0:
                continue
            try:
                if archive_kind(read_head(item.url)) is None:
                    continue
                fd, name = tempfile.mkstemp(dir=limits.temp_dir, suffix=".archive")
                os.close(fd)
                local = Path(name)
                if not download(item.url, local, self.settings.archive_max_total_bytes):
                    continue  # the archive's own record (digests) is all it gets
            except OSError:
                continue  # the hashing worker reports the read error in the archive's record
            try:
                for member in expand(item.id, local, limits):
                    progress.add_total(1)
                    yield member
            finally:
                local.unlink(missing_ok=True)

    def _root_items(
        self,
        root: Path,
        prefix: str | None,
        options: ScanOptions,
        limits: ArchiveLimits,
        progress: ProgressSink,
    ) -> Iterator[Item]:
        for item in walk(root, prefix):
            if item.error is None and item.path is not None and options.expand_archives:
                try:
                    with item.path.open("rb") as fh:
                        head = fh.read(SNIFF_BYTES)
                except OSError:
                    head = b""
                if archive_kind(head) is not None and limits.max_depth > 0:
                    yield item
                    for member in expand(item.id, item.path, limits):
                        progress.add_total(1)
                        yield member
                    continue
            yield item

    # --- the run ---------------------------------------------------------------------------------

    def run(
        self,
        root: Path | str | list[Path | str],
        options: ScanOptions,
        on_record: Callable[[dict[str, Any]], None],
        progress: ProgressSink | None = None,
    ) -> ScanSummary:
        sink = progress or _NoProgress()
        roots: list[Path | str] = root if isinstance(root, list) else [root]
        summary = ScanSummary()
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="ohsc-scan-") as tmp:
            limits = ArchiveLimits.from_settings(self.settings, Path(tmp))
            items: queue.Queue[Item | object] = queue.Queue(maxsize=max(8, options.workers * 4))
            stop = threading.Event()
            producer_error: list[BaseException] = []

            def produce() -> None:
                try:
                    for it in self._items(roots, options, limits, sink):
                        while not stop.is_set():
                            try:
                                items.put(it, timeout=0.2)
                                break
                            except queue.Full:
                                continue
                        if stop.is_set():
                            return
                except BaseException as exc:
                    producer_error.append(exc)
                finally:
                    with contextlib.suppress(queue.Full):
                        items.put(DONE, timeout=5)

            def count() -> None:
                sink.set_total(sum(count_files(r) if isinstance(r, Path) else _count_url(r) for r in roots))

            threading.Thread(target=count, daemon=True, name="ohsc-count").start()
            producer = threading.Thread(target=produce, daemon=True, name="ohsc-walk")
            producer.start()
            try:
                self._consume(items, options, on_record, sink, summary)
            except KeyboardInterrupt:
                summary.interrupted = True
            finally:
                stop.set()
                producer.join(timeout=5)
            if producer_error and not summary.interrupted:
                raise producer_error[0]
        summary.elapsed = time.monotonic() - started
        self._record_run(summary)
        return summary

    def _record_run(self, summary: ScanSummary) -> None:
        if self.matcher is None:
            return
        with self.matcher.store.session() as s:
            audit.record(
                s,
                actor=self.actor,
                action="scan.run",
                object_type="scan",
                object_id=None,
                details=summary.to_dict()
                | {"kinds": dict(summary.kinds), "error_codes": dict(summary.error_codes)},
            )

    def _robust_query(self, item: Item, sig: FileSignals | None, options: ScanOptions) -> Query | None:
        """Robust banks: the picture as they look for it (decoded again here, at reduced size)."""
        if self.matcher is None or not options.match or sig is None or sig.pdq is None:
            return None
        if not self.matcher.robust_active:
            return None
        from ohsc.robust.descriptor import query_of  # OpenCV: only when a bank is robust

        source = item.data if item.data is not None else item.path
        return query_of(source, options.hash.max_pixels) if source is not None else None

    def _record(
        self,
        item: Item,
        sig: FileSignals | None,
        options: ScanOptions,
        summary: ScanSummary,
        robust: Query | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"path": item.id}
        summary.files += 1
        if sig is not None:
            record.update(sig.to_dict())
            summary.kinds[str(sig.kind)] += 1
            summary.bytes += sig.size or 0
            if sig.md5 is not None:
                summary.hashed += 1
        if item.error is not None:
            record["error"], record["error_code"] = item.error, item.error_code
        elif item.warning is not None:
            existing = record.get("error")
            record["error"] = f"{item.warning}; {existing}" if existing else item.warning
            record["error_code"] = record.get("error_code") or "archive_unsafe_name"
        if sig is not None and self.matcher is not None and options.match and sig.md5 is not None:
            outcome = self.matcher.match(
                sig.signals(),
                pdq_quality=sig.pdq_quality,
                dihedral=sig.pdq_dihedral if options.hash.dihedral else None,
                robust=robust,
            )
            record.update(outcome.to_dict())
            summary.matched += outcome.matched
            summary.suppressed += bool(outcome.suppressed)
            summary.low_quality += outcome.low_quality
        if record.get("error"):
            summary.errors += 1
            summary.error_codes[str(record.get("error_code") or "error")] += 1
        return record

    def _consume(
        self,
        items: queue.Queue[Item | object],
        options: ScanOptions,
        on_record: Callable[[dict[str, Any]], None],
        sink: ProgressSink,
        summary: ScanSummary,
    ) -> None:
        def finish(item: Item, sig: FileSignals | None) -> None:
            robust = self._robust_query(item, sig, options)
            if item.temporary and item.path is not None:
                item.path.unlink(missing_ok=True)
            record = self._record(item, sig, options, summary, robust)
            on_record(record)
            sink.advance(record)

        def skipped(item: Item) -> None:
            sink.advance({"path": item.id, "resumed": True})

        HashPipeline(items, options, summary, finish, skipped).run()
