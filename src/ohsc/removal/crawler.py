"""The crawler: take URLs from the frontier, fetch, extract media links, hash media in memory,
match them against the banks; matches become takedowns (with evidence), the rest is forgotten.

Media bytes live only in this process's memory while they are hashed. Unmatched media are never
written anywhere: not to disk, not to the database (their URL and HTTP status are kept in the
frontier, their hashes are not). Matched media go to the encrypted evidence store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from ohsc.errors import ClusterUnavailableError
from ohsc.matching.matcher import Matcher
from ohsc.matching.model import Match
from ohsc.media.blobs import BlobStore
from ohsc.removal.extract import extract, is_media_url
from ohsc.removal.frontier import CrawlTask, Finished, Frontier
from ohsc.removal.hashing import MediaHasher
from ohsc.removal.http import CrawlHttp, FetchFailed, Response
from ohsc.removal.takedowns import Matched, TakedownService
from ohsc.settings import Settings
from ohsc.signals.files import FileSignals, HashOptions
from ohsc.store.db import Store

log = logging.getLogger(__name__)

#: the first wait for other crawlers' leases when nothing is left to take (then doubled, up to 1 s)
IDLE_POLL_SECONDS = 0.05
#: the longest matched media wait for others to be preserved with (one unit of work a group)
EVIDENCE_WAIT_SECONDS = 0.25


@dataclass(slots=True)
class CrawlStats:
    pages: int = 0
    media: int = 0
    matched: int = 0
    failed: int = 0
    takedowns: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Outcome:
    """What one URL gave: its state, and the links found on it (a page)."""

    task: CrawlTask
    state: str
    #: page | media | failed (what the statistics count)
    kind: str
    http_status: int | None = None
    error: str | None = None
    matched: bool = False
    created: bool = False
    media: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    #: matched media, until the writing thread has preserved them: signals, match, bytes
    evidence: tuple[FileSignals, Match, bytes] | None = None


class Crawler:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        matcher: Matcher,
        *,
        actor: str = "system",
        http: CrawlHttp | None = None,
        blobs: BlobStore | None = None,
        hash_pool: Callable[[HashOptions], Executor] | None = None,
    ) -> None:
        """``hash_pool``: hash media elsewhere (``DaskPool.executor``: on a Dask cluster), given
        the crawl's hash options."""
        self.store = store
        self.settings = settings
        self.matcher = matcher
        self.frontier = Frontier(store, settings, actor=actor)
        self.takedowns = TakedownService(store, settings, actor=actor, blobs=blobs)
        self.http = http or CrawlHttp(settings, self.frontier.guard)
        self._own_http = http is None
        options = HashOptions.for_upload(settings)
        self.hasher = MediaHasher(settings, hash_pool(options) if hash_pool is not None else None)
        #: held by whichever of this crawler's threads is writing to the store
        self._db = threading.Lock()
        self.stats = CrawlStats()

    @classmethod
    @contextmanager
    def open(
        cls,
        store: Store,
        settings: Settings,
        *,
        actor: str = "system",
        hash_pool: Callable[[HashOptions], Executor] | None = None,
    ) -> Iterator[Crawler]:
        crawler = cls(store, settings, Matcher.open(store, settings), actor=actor, hash_pool=hash_pool)
        try:
            yield crawler
        finally:
            crawler.close()

    def close(self) -> None:
        self.hasher.close()
        if self._own_http:
            self.http.close()

    # --- the loop ----------------------------------------------------------------------------

    def run(self, *, until_idle: bool = False, max_urls: int | None = None) -> CrawlStats:
        """Crawl one batch, or (``until_idle``) until nothing is left in the frontier.

        URLs are fetched and hashed in threads while the main thread keeps them fed from the
        frontier and writes what they found in one transaction per group of outcomes (a store
        transaction per URL would cost more than the hashing). Matched media are preserved by
        one more thread, a group of them at a time (:meth:`_preserve_many`), so the main thread
        goes on feeding the fetchers meanwhile; a lock keeps the two writers from meeting in the
        database (SQLite's busy wait sleeps)."""
        started = time.monotonic()
        workers = self.settings.crawl_concurrency
        if not until_idle and max_urls is None:
            max_urls = workers * 8  # one batch
        taken = 0
        inflight: set[Future[Outcome]] = set()
        found: list[Outcome] = []
        matched: list[Outcome] = []  # waiting for the evidence thread
        keeping: tuple[Future[list[Outcome]], int] | None = None  # the evidence thread's group, its size
        dry = False  # the frontier had nothing; new URLs come only with the next write
        idle = IDLE_POLL_SECONDS
        last_write = matched_at = time.monotonic()
        with (
            ThreadPoolExecutor(workers, thread_name_prefix="crawl") as pool,
            ThreadPoolExecutor(1, thread_name_prefix="crawl-evidence") as keeper,
        ):
            while True:
                # matched media count against the room until preserved: their bytes are in memory
                room = workers * 4 - len(inflight) - len(matched) - (keeping[1] if keeping else 0)
                if not dry and room >= workers and (max_urls is None or taken < max_urls):
                    want = room if max_urls is None else min(room, max_urls - taken)
                    with self._db:
                        tasks = self.frontier.take(want)
                    taken += len(tasks)
                    dry = not tasks
                    idle = IDLE_POLL_SECONDS if tasks else idle
                    inflight |= {pool.submit(self.process, t) for t in tasks}
                if not (inflight or matched or keeping):
                    if found:
                        self._write(found)
                        found, dry, last_write = [], False, time.monotonic()
                        continue
                    if until_idle and (max_urls is None or taken < max_urls) and self.frontier.pending():
                        # leases of another crawler (or of a dead one): look again, less often each time
                        time.sleep(min(idle, self.settings.crawl_lease_seconds))
                        idle, dry = min(2 * idle, 1.0), False
                        continue
                    break
                waiting: set[Future[Any]] = set(inflight) | ({keeping[0]} if keeping else set())
                done, _ = wait(waiting, timeout=0.25, return_when=FIRST_COMPLETED)
                for f in done:
                    if keeping is not None and f is keeping[0]:
                        found.extend(keeping[0].result())  # preserved: their URLs may be finished
                        keeping = None
                        continue
                    inflight.discard(f)
                    o = f.result()
                    if o.evidence is None:
                        found.append(o)
                        continue
                    matched_at = matched_at if matched else time.monotonic()
                    matched.append(o)
                if (
                    matched
                    and keeping is None
                    and self._group_ready(len(matched), matched_at, bool(inflight))
                ):
                    keeping, matched = (keeper.submit(self._preserve_many, matched), len(matched)), []
                if len(found) >= workers * 4 or (found and time.monotonic() - last_write > 0.5):
                    self._write(found)
                    found, dry, last_write = [], False, time.monotonic()
        self.stats.seconds = round(time.monotonic() - started, 3)
        return self.stats

    def _group_ready(self, n: int, since: float, busy: bool) -> bool:
        """Matched media go to the evidence thread in groups (a unit of work each): a full group,
        one whose first waited :data:`EVIDENCE_WAIT_SECONDS`, or what there is when nothing else
        is in flight."""
        full = n >= self.settings.crawl_concurrency
        return full or not busy or time.monotonic() - since > EVIDENCE_WAIT_SECONDS

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Held by whichever of this crawler's threads writes to the store."""
        with self._db, self.store.write_lock():
            yield

    def _preserve_many(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Matched media: evidence and takedowns, a group in one unit of work (idempotent per
        URL); then the bytes live in the evidence store only. The store's write lock is taken
        once the evidence is encrypted and on disk (:meth:`TakedownService.record_many`)."""
        found = []
        for o in outcomes:
            assert o.evidence is not None
            signals, match, data = o.evidence
            found.append(Matched(o.task.url, o.task.parent_url, o.task.id, signals, match, data))
        recorded = self.takedowns.record_many(found, lock=self._writing)
        for o, (_id, created) in zip(outcomes, recorded, strict=True):
            o.created, o.evidence = created, None
        return outcomes

    def _write(self, outcomes: list[Outcome]) -> None:
        """Store a group of outcomes in one transaction: what was found on the pages and every
        URL's state (matched media were preserved before, :meth:`_preserve_many`)."""
        unkept = [o for o in outcomes if o.evidence is not None]
        if unkept:  # not through run(): preserved here
            self._preserve_many(unkept)
        with self._writing(), self.store.session() as s:
            self.frontier.discover_many(
                s,
                [(o.task, o.media, "media") for o in outcomes if o.media]
                + [(o.task, o.pages, "page") for o in outcomes if o.pages],
            )
            self.frontier.finish_many(
                s,
                [
                    Finished(o.task, o.state, o.http_status, o.error, len(o.media), o.matched)
                    for o in outcomes
                ],
            )
        for o in outcomes:
            self.stats.pages += o.kind == "page"
            self.stats.media += o.kind == "media"
            self.stats.failed += o.kind == "failed"
            self.stats.matched += o.matched
            self.stats.takedowns += o.created

    # --- one URL -----------------------------------------------------------------------------

    def process(self, task: CrawlTask) -> Outcome:
        """Fetch one URL and look at what it is; never raises (a bad URL must not stop the crawl)."""
        try:
            return self._process(task)
        except ClusterUnavailableError:
            raise  # not this URL's fault: the crawl stops, the URL's lease runs out, it is taken again
        except Exception as exc:
            log.exception("crawl URL %s failed", task.id)
            return Outcome(task, "failed", "failed", error=f"internal: {type(exc).__name__}")

    def _process(self, task: CrawlTask) -> Outcome:
        media_task = task.kind == "media"
        limit = (
            self.settings.crawl_max_media_bytes
            if media_task
            else max(self.settings.crawl_max_page_bytes, self.settings.crawl_max_media_bytes)
        )
        accept = "image/*,video/*;q=0.9,*/*;q=0.5" if media_task else "text/html,*/*;q=0.8"
        try:
            response = self.http.get(task.url, limit=limit, accept=accept)
        except FetchFailed as exc:
            return Outcome(task, "failed", "failed", http_status=exc.status, error=exc.reason)
        if response.status != 200:
            return Outcome(task, "done", "failed", http_status=response.status)
        if response.is_html and not media_task:
            if len(response.body) > self.settings.crawl_max_page_bytes:
                return Outcome(task, "failed", "failed", http_status=200, error="page too large")
            links = extract(response.body, response.url)
            return Outcome(task, "done", "page", http_status=200, media=links.media, pages=links.pages)
        if response.is_media or is_media_url(response.url) or media_task:
            return self._media(task, response)
        return Outcome(task, "done", "page", http_status=200, error="neither a page nor media")

    def _media(self, task: CrawlTask, response: Response) -> Outcome:
        data = response.body
        signals = self.hasher(data)
        if isinstance(signals, str):
            return Outcome(task, "done", "media", http_status=200, error=f"not hashed: {signals}")
        outcome = self.matcher.match(signals.signals(), pdq_quality=signals.pdq_quality)
        if not outcome.matches:
            del data  # unmatched media end here: in memory only, never written
            return Outcome(task, "done", "media", http_status=200)
        # matched: preserved by the writing thread (:meth:`_write`)
        evidence = (signals, outcome.matches[0], data)
        return Outcome(task, "done", "media", http_status=200, matched=True, evidence=evidence)
