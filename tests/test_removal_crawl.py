"""Removal, part one: intake of reported URLs (sources merge), the crawler on a loopback test
site served by a second process, and a crawl killed with SIGKILL that resumes losing nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ohsc.banks.service import BankService
from ohsc.cli import main
from ohsc.errors import ConfigError, EgressRefusedError, InvalidInputError
from ohsc.evidence.tables import EvidenceItemRow
from ohsc.removal.crawler import Crawler
from ohsc.removal.frontier import Frontier, normalise_url
from ohsc.removal.models import CrawlUrlRow, TakedownRow
from ohsc.removal.processes import crawl_in_processes, process_settings
from ohsc.removal.takedowns import TakedownService
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store
from tests.removal_site import KNOWN, build_site, serve_site


def crawl_settings(home: Path, **extra: object) -> Settings:
    return load_settings(
        home=home,
        crawl_allow_private_targets=True,
        crawl_delay_seconds=0,
        crawl_concurrency=4,
        **extra,
    )


def bank_known(store: Store, settings: Settings, site_root: Path) -> None:
    banks = BankService(store, settings, actor="test")
    banks.create_bank("known")
    files = sorted((site_root / "media").glob("k*.jpg"))
    _report, failed = banks.add_files("known", files, category="test-category")
    assert not failed


def test_normalise_url() -> None:
    assert normalise_url(" HTTP://Example.COM:80/a?b=1#frag ") == "http://example.com/a?b=1"
    assert normalise_url("https://example.com") == "https://example.com/"
    assert normalise_url("https://example.com:8443/x") == "https://example.com:8443/x"
    with pytest.raises(InvalidInputError):
        normalise_url("ftp://example.com/")
    with pytest.raises(InvalidInputError):
        normalise_url("")


def test_add_merges_duplicates_and_keeps_every_source(store: Store, settings: Settings) -> None:
    analyst = Frontier(store, settings, actor="cli:alice")
    first = analyst.add(["http://example.com/a#x", "http://EXAMPLE.com/a"], source="analyst")
    assert len(first) == 1 and first[0].new
    platform = Frontier(store, settings, actor="apikey:abc")
    again = platform.add(["http://example.com/a", "http://example.com/b"], source="api")
    assert [a.new for a in again] == [False, True]
    assert again[0].id == first[0].id
    assert platform.get(first[0].id).sources == ("analyst", "api")
    analyst.add(["http://example.com/a"], source="analyst")  # the same source again: no new row
    assert platform.get(first[0].id).sources == ("analyst", "api")
    assert platform.pending() == 2


def test_internal_targets_are_refused_unless_allowed(store: Store, settings: Settings) -> None:
    with pytest.raises(EgressRefusedError, match="OHSC_CRAWL_ALLOW_PRIVATE_TARGETS"):
        Frontier(store, settings).add(["http://127.0.0.1:8080/"], source="analyst")
    with pytest.raises(EgressRefusedError):
        Frontier(store, settings).add(["http://169.254.169.254/latest/meta-data/"], source="api")
    allowed = load_settings(home=settings.home, crawl_allow_private_targets=True)
    assert Frontier(store, allowed).add(["http://127.0.0.1:8080/"], source="analyst")[0].new


@pytest.mark.parametrize(
    ("hash_workers", "keep_alive"),
    [(0, False), (1, False), (0, True)],
    ids=["hashed-in-threads", "hashing-process", "site-keeping-connections-open"],
)
def test_crawl_finds_known_pictures_and_forgets_the_rest(
    tmp_path: Path, hash_workers: int, keep_alive: bool
) -> None:
    settings = crawl_settings(tmp_path / "home", crawl_hash_workers=hash_workers)
    store = Store.from_settings(settings)
    root = tmp_path / "site"
    build_site(root)
    bank_known(store, settings, root)
    with serve_site(root, keep_alive=keep_alive) as site:
        Frontier(store, settings, actor="cli:test").add([site.url + "/index.html"], source="analyst")
        with Crawler.open(store, settings) as crawler:
            stats = crawler.run(until_idle=True)
    assert stats.pages == 2 and stats.takedowns == len(KNOWN)
    takedowns = TakedownService(store, settings).list_takedowns()
    assert sorted(t.url.rsplit("/", 1)[1] for t in takedowns) == ["k101.jpg", "k102.jpg", "k103.jpg"]
    assert {t.status for t in takedowns} == {"open"}  # confirmed at once (known-material bank)
    assert {t.category for t in takedowns} == {"test-category"}
    assert all(t.page_url.endswith(".html") for t in takedowns)
    with store.session() as s:
        rows = {r.url.rsplit("/", 1)[1]: r for r in s.scalars(select(CrawlUrlRow))}
        assert rows["missing.html"].http_status == 404  # the broken link
        assert rows["none.mp4"].http_status == 404
        assert "page.html" not in rows  # off-site pages are out of scope
        assert rows["u201.jpg"].state == "done" and not rows["u201.jpg"].matched
        assert len(list(s.scalars(select(EvidenceItemRow)))) == len(KNOWN)
    # unknown pictures left no trace on disk: not their bytes, not even their hashes
    unknown = [p.read_bytes() for p in site.unknown_files()]
    traces = [
        d
        for u in unknown
        for d in (u[:64], hashlib.md5(u).hexdigest().encode(), hashlib.sha1(u).hexdigest().encode())
    ]
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(t in data for t in traces), path
    blobs = [p for p in (tmp_path / "home" / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == len(KNOWN)  # the evidence, encrypted
    store.dispose()


def test_cli_crawl_add_and_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        "OHSC_HOME": str(home),
        "OHSC_CRAWL_ALLOW_PRIVATE_TARGETS": "true",
        "OHSC_CRAWL_DELAY_SECONDS": "0",
    }
    cli = CliRunner(env=env)
    root = tmp_path / "site"
    build_site(root)
    result = cli.invoke(main, ["bank", "create", "known"])
    assert result.exit_code == 0
    result = cli.invoke(main, ["bank", "add", "known", *map(str, sorted((root / "media").glob("k*.jpg")))])
    assert result.exit_code == 0, result.output
    with serve_site(root) as site:
        result = cli.invoke(main, ["crawl", "add", site.url + "/index.html", site.url + "/index.html#top"])
        assert result.exit_code == 0, result.output
        assert result.stdout.count("queued") == 1
        result = cli.invoke(main, ["crawl", "run", "--until-idle", "--no-notify", "--json"])
        assert result.exit_code == 0, result.output
        stats = json.loads(result.stdout)
        assert stats["takedowns"] == len(KNOWN)
    refused = CliRunner(env={"OHSC_HOME": str(home)}).invoke(main, ["crawl", "add", "http://10.0.0.1/"])
    assert refused.exit_code == 2 and "internal" in refused.stderr


def _chain_site(root: Path, pages: int) -> None:
    root.mkdir()
    for i in range(pages):
        links = "".join(f'<a href="p{j}.html">{j}</a>' for j in range(i + 1, min(i + 4, pages)))
        (root / f"p{i}.html").write_text(f"<html><body>{links}</body></html>")


@pytest.mark.slow
def test_crawl_killed_with_sigkill_resumes_and_loses_nothing(tmp_path: Path) -> None:
    pages = 40
    root = tmp_path / "site"
    _chain_site(root, pages)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OHSC_")}
    env.update(
        OHSC_HOME=str(home),
        OHSC_CRAWL_ALLOW_PRIVATE_TARGETS="true",
        OHSC_CRAWL_DELAY_SECONDS="0.1",
        OHSC_CRAWL_PER_HOST="1",
        OHSC_CRAWL_LEASE_SECONDS="1",
        OHSC_CRAWL_MAX_DEPTH="20",
        OHSC_RDAP_URL="http://127.0.0.1:9/rdap",
    )
    ohsc = str(Path(sys.executable).with_name("ohsc"))
    with serve_site(root) as site:
        added = subprocess.run([ohsc, "crawl", "add", site.url + "/p0.html"], env=env, capture_output=True)
        assert added.returncode == 0, added.stderr.decode()
        first = subprocess.Popen([ohsc, "crawl", "run", "--until-idle"], env=env, stderr=subprocess.DEVNULL)
        settings = load_settings(home=home)
        store = Store.from_settings(settings)
        deadline = time.monotonic() + 60
        while True:  # kill it mid-crawl, once some pages are done
            with store.session() as s:
                done = len(list(s.scalars(select(CrawlUrlRow.id).where(CrawlUrlRow.state == "done"))))
            if done >= 5:
                break
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        with store.session() as s:
            assert len(list(s.scalars(select(CrawlUrlRow.id).where(CrawlUrlRow.state == "done")))) < pages
        subprocess.run(
            [ohsc, "crawl", "run", "--until-idle"], env=env, check=True, capture_output=True, timeout=120
        )
        with store.session() as s:
            rows = list(s.scalars(select(CrawlUrlRow)))
        assert sorted(r.url.rsplit("/", 1)[1] for r in rows) == sorted(f"p{i}.html" for i in range(pages))
        assert {r.state for r in rows} == {"done"}, [(r.url, r.error) for r in rows if r.state != "done"]
        with store.session() as s:
            assert not list(s.scalars(select(TakedownRow)))
        store.dispose()


@pytest.mark.parametrize(("cap", "depth", "expected"), [(12, 20, 12), (100, 3, 10), (100, 20, 40)])
def test_crawl_keeps_to_the_page_cap_and_depth_of_its_seed(
    tmp_path: Path, cap: int, depth: int, expected: int
) -> None:
    """Links found on many pages are queued in one batch per group of outcomes: the seed's page
    cap and the depth limit still hold, and every page is queued once."""
    root = tmp_path / "site"
    _chain_site(root, 40)  # page i links to i+1, i+2, i+3: p0-p9 are at most 3 links from p0
    settings = crawl_settings(tmp_path / "home", crawl_max_pages_per_seed=cap, crawl_max_depth=depth)
    store = Store.from_settings(settings)
    with serve_site(root) as site:
        Frontier(store, settings, actor="cli:test").add([site.url + "/p0.html"], source="analyst")
        with Crawler.open(store, settings) as crawler:
            stats = crawler.run(until_idle=True)
    with store.session() as s:
        rows = list(s.scalars(select(CrawlUrlRow)))
    assert stats.pages == len(rows) == expected
    assert {r.state for r in rows} == {"done"}
    assert max(r.depth for r in rows) <= depth
    if depth == 3:
        assert sorted(r.url.rsplit("/", 1)[1] for r in rows) == sorted(f"p{i}.html" for i in range(10))
    store.dispose()


def test_crawlers_sharing_a_frontier_never_take_the_same_url(tmp_path: Path) -> None:
    """Several crawlers (each its own store and connections, as separate processes have) take
    from one frontier at once: every URL is taken by exactly one of them. Taking is one
    statement that reads and leases (before, a read and then an update: two crawlers could
    read the same queued rows before either leased them, and both fetched them)."""
    settings = crawl_settings(tmp_path / "home")
    store = Store.from_settings(settings)
    urls = [f"http://example.org/p{i}.html" for i in range(400)]
    Frontier(store, settings, actor="test").add(urls, source="analyst")
    taken: list[list[int]] = [[] for _ in range(6)]

    def crawler(n: int) -> None:
        own = Store.from_settings(settings)
        frontier = Frontier(own, settings, actor="test")
        while tasks := frontier.take(3):
            taken[n].extend(t.id for t in tasks)
        own.dispose()

    threads = [threading.Thread(target=crawler, args=(n,)) for n in range(len(taken))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in taken for i in ids]
    assert len(every) == len(set(every)) == len(urls)
    store.dispose()


def test_crawl_processes_share_the_per_host_limits() -> None:
    settings = load_settings(crawl_per_host=4, crawl_delay_seconds=0.5, crawl_concurrency=8)
    assert process_settings(settings, 1) is settings
    two = process_settings(settings, 2)
    assert (two.crawl_per_host, two.crawl_delay_seconds, two.crawl_concurrency) == (2, 1.0, 4)
    with pytest.raises(ConfigError, match="OHSC_CRAWL_PER_HOST"):
        process_settings(settings, 5)  # each process keeps one request per host: 5 > 4


@pytest.mark.slow
def test_crawl_in_two_processes_takes_every_url_once(tmp_path: Path) -> None:
    """Two crawler processes on one frontier: the known pictures become one takedown each, and
    every URL was taken once (one attempt) by one of the processes."""
    settings = crawl_settings(tmp_path / "home", crawl_per_host=2, crawl_max_depth=20)
    store = Store.from_settings(settings)
    root = tmp_path / "site"
    build_site(root)
    _chain_site(root / "chain", 30)
    index = (root / "index.html").read_text()
    (root / "index.html").write_text(index.replace("</body>", '<a href="chain/p0.html">c</a></body>'))
    bank_known(store, settings, root)
    with serve_site(root) as site:
        Frontier(store, settings, actor="cli:test").add([site.url + "/index.html"], source="analyst")
        stats = crawl_in_processes(store, settings, 2, until_idle=True, actor="cli:test")
    with store.session() as s:
        rows = list(s.scalars(select(CrawlUrlRow)))
    assert stats.takedowns == len(KNOWN) == len(TakedownService(store, settings).list_takedowns())
    assert stats.pages + stats.media + stats.failed == len(rows)
    assert {r.attempts for r in rows} == {1}
    assert "queued" not in {r.state for r in rows}
    assert len([r for r in rows if "/chain/" in r.url]) == 30
    store.dispose()
