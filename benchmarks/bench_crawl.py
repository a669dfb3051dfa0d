"""The removal crawler against a loopback site served by a second process.

    .venv/bin/python benchmarks/bench_crawl.py --pages 500 --media 1000 --rechecks 2000

Builds a site of ``--pages`` pages (a binary tree of links and ``--per-page`` pictures; the
pictures are ``--media`` distinct benign generated JPEGs, a tenth of them banked), serves it with
Python's ``http.server`` in another process (HTTP/1.0, a connection per request; with
``--keep-alive``, ``tests/site_server.py``: HTTP/1.1 keeping connections open), and measures in the
same run:

* the reference: plain sequential httpx GETs of every page and picture (no parsing, no hashing,
  no database): what the server and the loopback give;
* ``ohsc crawl run --until-idle`` as a library call (frontier in SQLite, lxml extraction, MD5,
  SHA-1, SHA-256 and PDQ of every picture in memory, matching, evidence for matches);
* a re-check of ``--rechecks`` open takedowns (conditional requests: the server answers 304),
  notices of what is still up written to the outbox.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from ohsc.banks.service import BankService
from ohsc.demo import synth
from ohsc.matching.matcher import Matcher
from ohsc.removal.crawler import Crawler, CrawlStats
from ohsc.removal.frontier import Frontier, url_key
from ohsc.removal.hosts import HostDirectory
from ohsc.removal.models import TakedownRow
from ohsc.removal.processes import crawl_in_processes
from ohsc.removal.recheck import Rechecker
from ohsc.settings import Settings, load_settings
from ohsc.signals.files import HashOptions, hash_path
from ohsc.store.db import Store
from ohsc.store.types import utcnow
from ohsc.web.services import ServerStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' site server
from tests.site_server import site_command

from common import machine, need_corpus, rss_mb


def build(root: Path, pages: int, media: int, per_page: int, corpus: bool = False) -> None:
    (root / "m").mkdir(parents=True)
    photos = need_corpus() if corpus else []
    for i in range(media):
        if corpus:  # the benign photo corpus (1-2 MP JPEGs), as found on real sites
            (root / "m" / f"{i}.jpg").write_bytes(photos[i % len(photos)].read_bytes())
            continue
        buf = io.BytesIO()
        synth.picture(10_000 + i, (256, 192)).save(buf, "JPEG", quality=85)
        (root / "m" / f"{i}.jpg").write_bytes(buf.getvalue())
    write_pages(root, pages, media, per_page)


def write_pages(root: Path, pages: int, media: int, per_page: int) -> None:
    for p in range(pages):
        links = "".join(f'<a href="p{q}.html">{q}</a>' for q in (2 * p + 1, 2 * p + 2) if q < pages)
        imgs = "".join(f'<img src="m/{(p * per_page + k) % media}.jpg">' for k in range(per_page))
        (root / f"p{p}.html").write_text(f"<html><body>{links}{imgs}</body></html>")
    stamp = time.time() - 3600  # one Last-Modified for every file (the re-check's conditional requests)
    for path in root.rglob("*"):
        os.utime(path, (stamp, stamp))


def serve(root: Path, keep_alive: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """The site in another process: HTTP/1.0, or HTTP/1.1 keep-alive (``tests/site_server.py``)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = site_command(port, root, keep_alive=keep_alive)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/p0.html", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, url


class PeakRss:
    """The highest resident set size seen while the block runs (sampled every 0.2 s)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakRss:
        self.peak = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def memory(args: argparse.Namespace) -> None:
    """Crawl a small site and then a large one in the same process: memory must not grow with
    the site (the frontier is in the database), so the large crawl's peak stays near the small one's."""
    small, large = args.memory
    tmp = Path(tempfile.mkdtemp(prefix="ohsc-bench-crawl-mem-"))
    build(tmp / "site" / "s", small, args.media, 1)
    (tmp / "site" / "l").mkdir()
    (tmp / "site" / "l" / "m").symlink_to(tmp / "site" / "s" / "m")
    write_pages(tmp / "site" / "l", large, args.media, 1)
    settings = load_settings(
        home=tmp / "home",
        crawl_allow_private_targets=True,
        crawl_delay_seconds=0,
        crawl_per_host=args.concurrency,
        crawl_concurrency=args.concurrency,
        crawl_max_depth=20,
        crawl_max_pages_per_seed=large + 10,
        rdap_url="http://127.0.0.1:9/rdap",
    )
    store = ServerStore.from_settings(settings)
    banks = BankService(store, settings, actor="bench")
    banks.create_bank("known")
    banks.add_files("known", [tmp / "site" / "s" / "m" / f"{i}.jpg" for i in range(0, args.media, 10)])
    proc, url = serve(tmp / "site", args.keep_alive)
    try:
        print(f"machine: {machine()}; load {os.getloadavg()[0]:.1f}")
        with Crawler.open(store, settings, actor="bench") as crawler:
            before = rss_mb()
            print(f"RSS before crawling (store, bank index, HTTP client open): {before:.0f} MB")
            peaks = []
            for name, pages in (("s", small), ("l", large)):
                Frontier(store, settings, actor="bench").add([f"{url}/{name}/p0.html"], source="analyst")
                crawler.stats = CrawlStats()
                t0 = time.perf_counter()
                with PeakRss() as peak:
                    stats = crawler.run(until_idle=True)
                took = time.perf_counter() - t0
                peaks.append(peak.peak)
                print(
                    f"{pages:,}-page site: {stats.pages} pages, {stats.media} media, {stats.takedowns} takedowns "
                    f"in {took:.0f} s ({stats.pages / took:.0f} pages/s); peak RSS {peak.peak:.0f} MB "
                    f"(+{peak.peak - before:.0f} MB); load {os.getloadavg()[0]:.1f}"
                )
        growth = (peaks[1] - before) / max(1.0, peaks[0] - before)
        print(
            f"peak RSS {large:,} pages / {small:,} pages: {peaks[1] / peaks[0]:.2f}x "
            f"(growth over the open crawler: {growth:.2f}x)"
        )
    finally:
        proc.terminate()
        proc.wait()
        store.dispose()


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used (the site's server)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scan_reference(
    store: Store, settings: Settings, media_dir: Path, media: int
) -> tuple[float, dict[str, tuple[str | None, str | None, str]]]:
    """What ``ohsc scan`` does per file, in one thread: read, hash (its options), match.

    Returns media/s and, per matched file name, (MD5, PDQ, bank): what the crawl must find."""
    options = HashOptions.from_settings(settings)
    matcher = Matcher.open(store, settings)
    hash_path(media_dir / "0.jpg", options)  # the compiled kernels, loaded once as a scan worker does
    expected = {}
    t0 = time.perf_counter()
    for i in range(media):
        sig = hash_path(media_dir / f"{i}.jpg", options)
        outcome = matcher.match(sig.signals(), pdq_quality=sig.pdq_quality)
        if outcome.matches:
            expected[f"{i}.jpg"] = (sig.md5, sig.pdq, outcome.matches[0].bank_name)
    took = time.perf_counter() - t0
    return media / took, expected


def crawl_here(
    store: Store, settings: Settings, tmp: Path, args: argparse.Namespace
) -> tuple[CrawlStats, float]:
    """The crawl in this process (the library call behind ``ohsc crawl run --until-idle``)."""
    with store.held_open(), Crawler.open(store, settings, actor="bench") as crawler:
        if args.hash_workers:  # started (kernels loaded), as a scan's workers are, before the clock
            sample = (tmp / "site" / "m" / "0.jpg").read_bytes()
            with ThreadPoolExecutor(args.hash_workers * 2) as warm:
                list(warm.map(crawler.hasher, [sample] * args.hash_workers * 2))
        t0 = time.perf_counter()
        stats = crawler.run(until_idle=True)
        return stats, time.perf_counter() - t0


def crawled_matches(store: Store) -> dict[str, tuple[str | None, str | None, str]]:
    with store.session() as s:
        rows = s.execute(select(TakedownRow.url, TakedownRow.md5, TakedownRow.pdq, TakedownRow.bank))
        return {u.rsplit("/", 1)[1]: (md5, pdq, bank) for u, md5, pdq, bank in rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument("--media", type=int, default=1000)
    ap.add_argument("--per-page", type=int, default=4)
    ap.add_argument("--rechecks", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--corpus", action="store_true", help="media: the corpus photos (1-2 MP), not 256x192")
    ap.add_argument("--hash-workers", type=int, default=0, help="OHSC_CRAWL_HASH_WORKERS (0: in the threads)")
    ap.add_argument(
        "--processes",
        type=int,
        default=1,
        help="OHSC_CRAWL_PROCESSES: crawler processes sharing the frontier",
    )
    ap.add_argument(
        "--keep-alive",
        action="store_true",
        help="serve the site with HTTP/1.1 keep-alive (and TCP_NODELAY), not HTTP/1.0",
    )
    ap.add_argument(
        "--store", choices=("pooled", "plain"), default="pooled", help="pooled: SQLite connections kept open"
    )
    ap.add_argument(
        "--memory",
        type=int,
        nargs=2,
        metavar=("SMALL", "LARGE"),
        help="memory mode: crawl a SMALL-page then a LARGE-page site (one picture a page) in this process",
    )
    args = ap.parse_args()
    if args.memory:
        memory(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="ohsc-bench-crawl-"))
    if args.corpus:
        args.media = min(args.media, len(need_corpus()))  # distinct pictures only
    build(tmp / "site", args.pages, args.media, args.per_page, args.corpus)
    settings = load_settings(
        home=tmp / "home",
        crawl_allow_private_targets=True,
        crawl_delay_seconds=0,
        crawl_per_host=args.concurrency,
        crawl_concurrency=args.concurrency,
        crawl_max_depth=20,
        crawl_max_pages_per_seed=args.pages + 10,
        crawl_hash_workers=args.hash_workers,
        rdap_url="http://127.0.0.1:9/rdap",  # no RDAP look-ups leave the machine (the contact is set below)
    )
    store = (ServerStore if args.store == "pooled" else Store).from_settings(settings)
    banks = BankService(store, settings, actor="bench")
    banks.create_bank("known")
    banks.add_files("known", [tmp / "site" / "m" / f"{i}.jpg" for i in range(0, args.media, 10)])
    proc, url = serve(tmp / "site", args.keep_alive)
    try:
        print(
            f"machine: {machine()}; site served with {'HTTP/1.1 keep-alive' if args.keep_alive else 'HTTP/1.0'}"
        )
        t0, ref_cpu = time.perf_counter(), time.process_time()
        with httpx.Client() as c:
            for p in range(args.pages):
                c.get(f"{url}/p{p}.html")
            for i in range(args.media):
                c.get(f"{url}/m/{i}.jpg")
        ref, ref_cpu = time.perf_counter() - t0, time.process_time() - ref_cpu
        print(f"reference (sequential GETs): {(args.pages + args.media) / ref:.0f} requests/s; load {load()}")
        scan_rate, expected = scan_reference(store, settings, tmp / "site" / "m", args.media)
        print(
            f"reference (ohsc scan's hashing and matching of the files, one thread): {scan_rate:.0f} media/s"
        )

        Frontier(store, settings, actor="bench").add([f"{url}/p0.html"], source="analyst")
        cpu0, server0 = os.times(), cpu_of(proc.pid)
        if args.processes > 1:  # the processes' start (store, bank index, kernels) is in the time
            t0 = time.perf_counter()
            stats = crawl_in_processes(store, settings, args.processes, until_idle=True, actor="bench")
            took = time.perf_counter() - t0
        else:
            stats, took = crawl_here(store, settings, tmp, args)
        cpu1, server = os.times(), cpu_of(proc.pid) - server0
        cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        cpu += (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
        print(
            f"crawl ({args.processes} process(es), {args.hash_workers or 'no'} hashing processes): "
            f"{stats.pages} pages, {stats.media} media, {stats.takedowns} takedowns in {took:.1f} s: "
            f"{stats.pages / took:.0f} pages/s, {stats.media / took:.0f} media/s, "
            f"{(stats.pages + stats.media) / took:.0f} requests/s "
            f"({(stats.pages + stats.media) / took / ((args.pages + args.media) / ref):.2f}x the GETs; "
            f"media {stats.media / took / scan_rate:.2f}x the scan's hashing); "
            f"crawl CPU {1000 * cpu / (stats.pages + stats.media):.2f} ms per URL (all its processes; the GETs "
            f"{1000 * ref_cpu / (args.pages + args.media):.2f} ms per request); RSS {rss_mb():.0f} MB; load {load()}"
        )
        print(
            f"  the site's server: {1000 * server / (stats.pages + stats.media):.2f} ms CPU per URL; crawl and "
            f"server together {(cpu + server) / took:.2f} cores of {len(os.sched_getaffinity(0))}"
        )
        if args.processes > 1:
            print(
                f"  of which crawling (the slowest process's run, without its start): {stats.seconds:.1f} s: "
                f"{(stats.pages + stats.media) / stats.seconds:.0f} requests/s"
            )
        found = crawled_matches(store)
        same = "identical" if found == expected else f"DIFFERENT ({len(found)} vs {len(expected)})"
        print(f"matches: crawl {len(found)}, scan of the files {len(expected)}: hashes and banks {same}")

        # re-check many open notices: conditional GETs answered 304
        modified = httpx.get(f"{url}/m/0.jpg").headers.get("last-modified")
        now = utcnow()
        with store.session() as s:
            for i in range(args.rechecks):
                media_url = f"{url}/m/{i % args.media}.jpg?n={i}"
                s.add(
                    TakedownRow(
                        url_key=url_key(media_url), url=media_url, page_url="", host="127.0.0.1", bank="known",
                        status="open", first_seen_at=now, first_notice_at=now, last_notice_at=now,
                        next_check_at=now, notices_sent=1, checks=0, escalated=False, last_modified=modified,
                    )
                )  # fmt: skip
        HostDirectory(store, settings, actor="bench").add_contact("127.0.0.1", "abuse@example.org")
        checker = Rechecker(store, settings, actor="bench")
        t0 = time.perf_counter()
        rs = checker.run(now=now + timedelta(hours=25))
        took = time.perf_counter() - t0
        checker.close()
        print(
            f"recheck: {rs.checked} open notices in {took:.1f} s ({rs.checked / took:.0f}/s), "
            f"still up {rs.still_up}, removed {rs.removed}, unknown {rs.unknown}, notices {rs.notices}"
        )
    finally:
        proc.terminate()
        proc.wait()
        store.dispose()


if __name__ == "__main__":
    main()
