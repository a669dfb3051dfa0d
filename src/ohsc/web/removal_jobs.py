"""The server's removal jobs: crawl what waits in the frontier and send first notices; re-check
takedowns that are due (and notify again what is still up). Both use the process's matcher."""

from __future__ import annotations

from ohsc.removal.crawler import Crawler
from ohsc.removal.notices import NoticeService
from ohsc.removal.recheck import Rechecker
from ohsc.web.services import Services

#: most URLs one crawl job run takes (the job runs again at the next interval)
CRAWL_BATCH = 2000
RECHECK_SECONDS = 300.0


def crawl(services: Services) -> None:
    if services.matcher is None:
        return
    crawler = Crawler(services.store, services.settings, services.matcher, actor="system")
    try:
        crawler.run(until_idle=True, max_urls=CRAWL_BATCH)
    finally:
        crawler.close()
    NoticeService(services.store, services.settings, actor="system").notify_pending()


def recheck(services: Services) -> None:
    if services.matcher is None:
        return
    checker = Rechecker(services.store, services.settings, actor="system", matcher=services.matcher)
    try:
        checker.run()
    finally:
        checker.close()
