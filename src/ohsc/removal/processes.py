"""Crawling in several processes that share one frontier (``OHSC_CRAWL_PROCESSES``).

One crawl process spends most of its time in Python (the HTTP client, the store's writes, the
matcher) under one interpreter lock: it uses about one core whatever its thread count. Several
processes each run an ordinary :class:`~ohsc.removal.crawler.Crawler` on the same database. They
need nothing else from each other:

* **taking** URLs is one statement that picks and leases them
  (:meth:`~ohsc.removal.frontier.Frontier.take`), so no two processes take the same URL;
* **writing**: on SQLite every take and every group of outcomes is written under the store's
  write lock (a ``flock`` with the server's store), and a matched URL becomes one takedown
  whoever finds it first (the takedown is unique per URL);
* **politeness** stays a limit per host for the whole crawl: each of ``n`` processes keeps
  ``OHSC_CRAWL_PER_HOST // n`` requests open to a host (so ``n`` may not exceed it) and spaces
  its own requests to a host ``n`` times ``OHSC_CRAWL_DELAY_SECONDS`` apart, so the host sees
  at most the configured concurrency and, on average, the configured request rate;
* **kill -9** of any process leaves leases that run out (``OHSC_CRAWL_LEASE_SECONDS``); an
  ``--until-idle`` process waits for other processes' leases before it stops.

The calling process is one of the ``n`` crawlers; the other ``n - 1`` are started with
``spawn`` (nothing of the parent's threads or connections is inherited), each opening the store,
the matcher's bank indexes and an HTTP client of its own. The caller crawls while they start, so
their start-up (seconds) does not leave the machine idle.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context

from ohsc.errors import ConfigError
from ohsc.removal.crawler import Crawler, CrawlStats
from ohsc.settings import Settings
from ohsc.signals.files import HashOptions
from ohsc.store.db import Store


def process_settings(settings: Settings, processes: int) -> Settings:
    """One of ``processes`` crawl processes' settings: its share of the per-host politeness."""
    if processes < 1:
        raise ConfigError("crawl processes: at least 1")
    if processes == 1:
        return settings
    if processes > settings.crawl_per_host:
        raise ConfigError(
            f"{processes} crawl processes but OHSC_CRAWL_PER_HOST={settings.crawl_per_host}: each process "
            "keeps at least one request open per host, so the processes would exceed the per-host limit "
            "(raise OHSC_CRAWL_PER_HOST or use fewer processes)"
        )
    return settings.model_copy(
        update={
            "crawl_per_host": settings.crawl_per_host // processes,
            "crawl_delay_seconds": settings.crawl_delay_seconds * processes,
            "crawl_concurrency": max(1, settings.crawl_concurrency // processes),
        }
    )


def _crawl_one(
    store_type: type[Store], settings: Settings, actor: str, until_idle: bool, max_urls: int | None
) -> CrawlStats:
    """In a crawl process: one crawler on its own store until idle (or ``max_urls``)."""
    store = store_type.from_settings(settings)
    try:
        with store.held_open(), Crawler.open(store, settings, actor=actor) as crawler:
            return crawler.run(until_idle=until_idle, max_urls=max_urls)
    finally:
        store.dispose()


def crawl_in_processes(
    store: Store,
    settings: Settings,
    processes: int,
    *,
    until_idle: bool = False,
    max_urls: int | None = None,
    actor: str = "system",
    hash_pool: Callable[[HashOptions], Executor] | None = None,
) -> CrawlStats:
    """Crawl with ``processes`` crawler processes sharing the frontier; their summed statistics.

    This process is one of them (on ``store``), the others are started (``spawn``) and open the
    same database from ``settings`` with a store of ``store``'s kind. Only with one process may
    its media be hashed by ``hash_pool`` (a Dask cluster's batching executor)."""
    own = process_settings(settings, processes)
    if hash_pool is not None and processes != 1:
        raise ConfigError("a hash pool (a Dask cluster) serves one crawl process")
    if processes == 1:
        return _crawl_here(store, settings, actor, until_idle, max_urls, hash_pool)
    shares = [None] * processes if max_urls is None else _split(max_urls, processes)
    total = CrawlStats()
    # this process is one of the crawlers: it crawls while the others start (imports, store,
    # bank indexes, PDQ kernels: seconds), and they join in as they are ready
    with ProcessPoolExecutor(processes - 1, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_crawl_one, type(store), own, actor, until_idle, share)
            for share in shares[1:]
            if share is None or share > 0
        ]
        here = shares[0]
        results = [_crawl_here(store, own, actor, until_idle, here)] if here is None or here > 0 else []
        results += [f.result() for f in futures]
    for stats in results:
        total.pages += stats.pages
        total.media += stats.media
        total.matched += stats.matched
        total.failed += stats.failed
        total.takedowns += stats.takedowns
        total.seconds = max(total.seconds, stats.seconds)
    return total


def _crawl_here(
    store: Store,
    settings: Settings,
    actor: str,
    until_idle: bool,
    max_urls: int | None,
    hash_pool: Callable[[HashOptions], Executor] | None = None,
) -> CrawlStats:
    with store.held_open(), Crawler.open(store, settings, actor=actor, hash_pool=hash_pool) as crawler:
        return crawler.run(until_idle=until_idle, max_urls=max_urls)


def _split(n: int, parts: int) -> list[int | None]:
    return [n // parts + (i < n % parts) for i in range(parts)]
