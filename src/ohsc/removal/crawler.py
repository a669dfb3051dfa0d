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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from ohsc.errors import OhscError
from ohsc.matching.matcher import Matcher
from ohsc.media.blobs import BlobStore
from ohsc.removal.extract import extract, is_media_url
from ohsc.removal.frontier import CrawlTask, Frontier
from ohsc.removal.http import CrawlHttp, FetchFailed, Response
from ohsc.removal.takedowns import TakedownService
from ohsc.settings import Settings
from ohsc.signals.files import hash_upload
from ohsc.store.db import Store

log = logging.getLogger(__name__)


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
    ) -> None:
        self.store = store
        self.settings = settings
        self.matcher = matcher
        self.frontier = Frontier(store, settings, actor=actor)
        self.takedowns = TakedownService(store, settings, actor=actor, blobs=blobs)
        self.http = http or CrawlHttp(settings, self.frontier.guard)
        self._own_http = http is None
        self._lock = threading.Lock()
        self.stats = CrawlStats()

    @classmethod
    @contextmanager
    def open(cls, store: Store, settings: Settings, *, actor: str = "system") -> Iterator[Crawler]:
        crawler = cls(store, settings, Matcher.open(store, settings), actor=actor)
        try:
            yield crawler
        finally:
            crawler.close()

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    # --- the loop ----------------------------------------------------------------------------

    def run(self, *, until_idle: bool = False, max_urls: int | None = None) -> CrawlStats:
        """Crawl one batch, or (``until_idle``) until nothing is left in the frontier."""
        started = time.monotonic()
        workers = self.settings.crawl_concurrency
        done = 0
        with ThreadPoolExecutor(workers, thread_name_prefix="crawl") as pool:
            while max_urls is None or done < max_urls:
                want = workers * 4 if max_urls is None else min(workers * 4, max_urls - done)
                tasks = self.frontier.take(want)
                if not tasks:
                    if until_idle and self.frontier.pending():
                        time.sleep(min(1.0, self.settings.crawl_lease_seconds))  # leases of a dead crawler
                        continue
                    break
                list(pool.map(self.process, tasks))
                done += len(tasks)
                if not until_idle and max_urls is None:
                    break
        self.stats.seconds = round(time.monotonic() - started, 3)
        return self.stats

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, n in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + n)

    # --- one URL -----------------------------------------------------------------------------

    def process(self, task: CrawlTask) -> None:
        try:
            self._process(task)
        except Exception as exc:  # one bad URL must not stop the crawl; its lease runs out otherwise
            log.exception("crawl URL %s failed", task.id)
            with self.store.session() as s:
                self.frontier.finish(s, task, state="failed", error=f"internal: {type(exc).__name__}")
            self._count(failed=1)

    def _process(self, task: CrawlTask) -> None:
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
            with self.store.session() as s:
                self.frontier.finish(s, task, state="failed", http_status=exc.status, error=exc.reason)
            self._count(failed=1)
            return
        if response.status != 200:
            with self.store.session() as s:
                self.frontier.finish(s, task, state="done", http_status=response.status)
            self._count(failed=1)
            return
        if response.is_html and not media_task:
            self._page(task, response)
        elif response.is_media or is_media_url(response.url) or media_task:
            self._media(task, response)
        else:
            with self.store.session() as s:
                self.frontier.finish(s, task, state="done", http_status=200, error="neither a page nor media")
            self._count(pages=1)

    def _page(self, task: CrawlTask, response: Response) -> None:
        if len(response.body) > self.settings.crawl_max_page_bytes:
            with self.store.session() as s:
                self.frontier.finish(s, task, state="failed", http_status=200, error="page too large")
            self._count(failed=1)
            return
        links = extract(response.body, response.url)
        with self.store.session() as s:
            self.frontier.discover(s, task, links.media, kind="media")
            self.frontier.discover(s, task, links.pages, kind="page")
            self.frontier.finish(s, task, state="done", http_status=200, media_found=len(links.media))
        self._count(pages=1)

    def _media(self, task: CrawlTask, response: Response) -> None:
        data = response.body
        try:
            signals = hash_upload(data, self.settings)
        except OhscError as exc:
            with self.store.session() as s:
                self.frontier.finish(s, task, state="done", http_status=200, error=f"not hashed: {exc.code}")
            self._count(media=1)
            return
        outcome = self.matcher.match(signals.signals(), pdq_quality=signals.pdq_quality)
        match = outcome.matches[0] if outcome.matches else None
        created = False
        if match is not None:
            _id, created = self.takedowns.record(
                url=task.url,
                page_url=task.parent_url,
                crawl_url_id=task.id,
                signals=signals,
                match=match,
                data=data,
            )
        del data  # unmatched media end here: in memory only, never written
        with self.store.session() as s:
            self.frontier.finish(s, task, state="done", http_status=200, matched=match is not None)
        self._count(media=1, matched=int(match is not None), takedowns=int(created))
