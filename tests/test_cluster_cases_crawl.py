"""Case ingest and the crawler's hashing on a Dask cluster (issue 17): a ``LocalCluster`` of
processes on loopback gives a case the same items, and a crawl the same takedowns and frontier,
as this machine alone; an unreachable scheduler is a clear error before anything is written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ohsc.banks import BankService
from ohsc.banks.model import EntryInput
from ohsc.cases.models import CaseItemRow, CaseLocationRow
from ohsc.cases.service import CaseService
from ohsc.cli import main
from ohsc.errors import ClusterUnavailableError
from ohsc.matching import Matcher
from ohsc.removal.crawler import Crawler
from ohsc.removal.frontier import Frontier
from ohsc.removal.models import CrawlUrlRow
from ohsc.removal.takedowns import TakedownService
from ohsc.settings import Settings
from ohsc.signals.files import HashOptions, hash_bytes
from ohsc.store.db import Store
from tests.removal_site import KNOWN, build_site, free_port, serve_site
from tests.test_cases import _collection, _tar, _zip, jpeg
from tests.test_removal_crawl import bank_known, crawl_settings

distributed = pytest.importorskip("distributed")

from ohsc.cluster.pool import DaskPool  # noqa: E402
from tests import dask_cluster  # noqa: E402

cluster, client = dask_cluster.cluster, dask_cluster.client  # the fixtures, started once per module

pytestmark = [pytest.mark.xdist_group("dask-cluster"), pytest.mark.filterwarnings("ignore::ResourceWarning")]


# --- case ingest ----------------------------------------------------------------------------------


def _seized(root: Path) -> list[Path]:
    """A folder (copies, a near-duplicate, EXIF), a zip and a tar.gz: every kind of source whose
    files are hashed."""
    files = _collection(root / "seized")
    (root / "seized" / "DCIM" / "e.jpg").write_bytes(
        jpeg(5, exif={0x010F: "BenignCam", 0x0110: "Model 1", 0x9003: "2024:05:06 10:20:30"})
    )
    _zip(root / "phone.zip", {"Camera/a.jpg": files["DCIM/a.jpg"], "Camera/d.jpg": jpeg(4)})
    _tar(root / "cloud.tgz", {"x/b.jpg": files["DCIM/b.jpg"], "x/f.jpg": jpeg(6)})
    return [root / "seized", root / "phone.zip", root / "cloud.tgz"]


_ITEM = (
    "md5", "sha1", "sha256", "pdq", "pdq_quality", "media_kind", "media_format", "size", "known",
    "known_bank", "known_category", "category", "camera", "taken_at", "exif", "locations", "error",
)  # fmt: skip


def _case(store: Store, service: CaseService, name: str) -> dict[str, Any]:
    """The case's items by MD5, each with its locations and its stack (as the stack head's MD5)."""
    case_id = service.get(name).id
    with store.session() as s:
        items = list(s.scalars(select(CaseItemRow).where(CaseItemRow.case_id == case_id)))
        md5 = {i.id: i.md5 for i in items}
        locs = list(s.scalars(select(CaseLocationRow).where(CaseLocationRow.item_id.in_(md5))))
        out: dict[str, Any] = {}
        for i in items:
            where = sorted(
                (loc.path, loc.folder, loc.modified_at, loc.deleted) for loc in locs if loc.item_id == i.id
            )
            head = md5.get(i.stack_id) if i.stack_id is not None else None
            out[i.md5] = {k: getattr(i, k) for k in _ITEM} | {"where": where, "stack": head}
    return out


def _batches(tasks: Any) -> int:
    return sum(1 for t in tasks.data if str(t["key"]).startswith("hash_batch"))


def test_case_ingest_on_a_cluster_gives_the_items_of_a_local_ingest(
    sqlite_store: Store, settings: Settings, client: Any, tmp_path: Path
) -> None:
    sources = _seized(tmp_path)
    banks = BankService(sqlite_store, settings, actor="test")
    banks.create_bank("known-set")
    known = hash_bytes((tmp_path / "seized" / "DCIM" / "b.jpg").read_bytes(), HashOptions()).md5
    assert known is not None
    banks.add_entries("known-set", [EntryInput("md5", known, category="vics:1")])
    matcher = Matcher.open(sqlite_store, settings)
    service = CaseService(sqlite_store, settings, actor="test")
    summaries: dict[str, list[dict[str, Any]]] = {}
    for name, pool in (("here", None), ("there", DaskPool(client, batch_items=3))):
        service.create(name)
        summaries[name] = []
        with distributed.get_task_stream(client) as tasks:
            for source in sources:
                got = service.ingest(name, source, matcher=matcher, workers=0, pool=pool).to_dict()
                summaries[name].append(
                    {k: v for k, v in got.items() if k not in ("elapsed_s", "files_per_s")}
                )
        assert (_batches(tasks) > 0) == (pool is not None), "hashed on the cluster, in batches"
    assert summaries["there"] == summaries["here"]
    here, there = _case(sqlite_store, service, "here"), _case(sqlite_store, service, "there")
    assert there == here
    assert here[known]["known_bank"] == "known-set" and here[known]["category"] == "1"
    assert any(i["camera"] for i in here.values()), "EXIF read on the workers"
    assert any("!" in w[0] for i in here.values() for w in i["where"]), "archive members ingested"
    assert service.stats("there").to_dict() | {"case": "here"} == service.stats("here").to_dict()


def test_ohsc_case_ingest_cluster_flag_and_variable(cluster: Any, tmp_path: Path) -> None:
    sources = [str(p) for p in _seized(tmp_path)]
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})
    for name in ("local", "flag", "variable"):
        assert cli.invoke(main, ["case", "create", name]).exit_code == 0
    local = cli.invoke(main, ["case", "ingest", "local", *sources, "--workers", "0", "--quiet"])
    assert local.exit_code == 0, local.output
    flag = cli.invoke(
        main, ["case", "ingest", "flag", *sources, "--quiet", "--cluster", cluster.scheduler_address]
    )
    assert flag.exit_code == 0, flag.output
    by_env = CliRunner(
        env={"OHSC_HOME": str(tmp_path / "home"), "OHSC_DASK_SCHEDULER": cluster.scheduler_address}
    ).invoke(main, ["case", "ingest", "variable", *sources, "--quiet"])
    assert by_env.exit_code == 0, by_env.output
    stats = {}
    for name in ("local", "flag", "variable"):
        got = cli.invoke(main, ["case", "stats", name, "--json"])
        assert got.exit_code == 0, got.output
        stats[name] = json.loads(got.output) | {"case": "NAME"}
    assert stats["flag"] == stats["local"] == stats["variable"]
    assert stats["local"]["files"] == 11 and stats["local"]["unique"] > 0


def _no_scheduler() -> str:
    return f"tcp://127.0.0.1:{free_port()}"  # a port nobody listens on


def test_case_ingest_with_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    _collection(tmp_path / "seized")
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home"), "OHSC_CLUSTER_CONNECT_SECONDS": "1"})
    assert cli.invoke(main, ["case", "create", "c"]).exit_code == 0
    got = cli.invoke(
        main, ["case", "ingest", "c", str(tmp_path / "seized"), "--quiet", "--cluster", _no_scheduler()]
    )
    assert got.exit_code == ClusterUnavailableError.exit_code == 8, got.output
    assert "cannot reach the Dask scheduler" in got.output
    stats = cli.invoke(main, ["case", "stats", "c", "--json"])
    assert '"sources": 0' in stats.output  # nothing was written


# --- the crawler's fetch-and-hash step -------------------------------------------------------------


def _frontier_state(store: Store) -> dict[str, tuple[Any, ...]]:
    with store.session() as s:
        return {
            r.url.rsplit("/", 1)[1]: (r.kind, r.state, r.http_status, r.error, r.media_found, r.matched)
            for r in s.scalars(select(CrawlUrlRow))
        }


def _crawl(tmp_path: Path, name: str, site_root: Path, url: str, client: Any | None) -> dict[str, Any]:
    settings = crawl_settings(tmp_path / name)
    store = Store.from_settings(settings)
    try:
        bank_known(store, settings, site_root)
        Frontier(store, settings, actor="cli:test").add([url + "/index.html"], source="analyst")
        hash_pool = DaskPool(client, batch_items=2).executor if client is not None else None
        with Crawler.open(store, settings, hash_pool=hash_pool) as crawler:
            stats = crawler.run(until_idle=True).to_dict()
        del stats["seconds"]
        takedowns = sorted(
            (t.url.rsplit("/", 1)[1], t.page_url.rsplit("/", 1)[1], t.category, t.status)
            for t in TakedownService(store, settings).list_takedowns()
        )
        return {"stats": stats, "takedowns": takedowns, "frontier": _frontier_state(store)}
    finally:
        store.dispose()


def _worker_dir(dask_worker: Any) -> str:  # runs on each Dask worker
    return str(dask_worker.local_directory)


def test_crawl_hashing_on_a_cluster_finds_what_a_local_crawl_finds(client: Any, tmp_path: Path) -> None:
    root = tmp_path / "site"
    build_site(root)
    with serve_site(root) as site:
        here = _crawl(tmp_path, "here", root, site.url, None)
        with distributed.get_task_stream(client) as tasks:
            there = _crawl(tmp_path, "there", root, site.url, client)
    assert there == here
    assert _batches(tasks) >= 1, "the media were hashed on the cluster"
    assert len(here["takedowns"]) == len(KNOWN)
    assert here["frontier"]["u201.jpg"][1:] == ("done", 200, None, 0, False)
    # unmatched media left no trace where the workers keep files either (no spilling to disk)
    unknown = [p.read_bytes() for p in site.unknown_files()]
    traces = [d for u in unknown for d in (u[:64], hashlib.md5(u).hexdigest().encode())]
    for folder in client.run(_worker_dir).values():
        for dirpath, _dirs, files in os.walk(folder):
            for f in files:
                path = Path(dirpath) / f
                if path.is_file():
                    data = path.read_bytes()
                    assert not any(t in data for t in traces), path


def test_crawl_with_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path / "home")
    store = Store.from_settings(settings)
    Frontier(store, settings, actor="cli:test").add(["http://127.0.0.1:9/index.html"], source="analyst")
    store.dispose()
    cli = CliRunner(
        env={
            "OHSC_HOME": str(tmp_path / "home"),
            "OHSC_CRAWL_ALLOW_PRIVATE_TARGETS": "true",
            "OHSC_DASK_SCHEDULER": _no_scheduler(),
            "OHSC_CLUSTER_CONNECT_SECONDS": "1",
        }
    )
    got = cli.invoke(main, ["crawl", "run", "--no-notify"])
    assert got.exit_code == ClusterUnavailableError.exit_code, got.output
    assert "cannot reach the Dask scheduler" in got.output
    status = cli.invoke(main, ["crawl", "status", "--json"])
    assert json.loads(status.output) == {"page_queued": 1}  # not taken: nothing was fetched


def test_a_cluster_hashes_for_one_crawl_process_only(tmp_path: Path) -> None:
    """--cluster with several crawl processes is refused before anything is taken."""
    settings = crawl_settings(tmp_path / "home")
    store = Store.from_settings(settings)
    Frontier(store, settings, actor="cli:test").add(["http://127.0.0.1:9/index.html"], source="analyst")
    store.dispose()
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home"), "OHSC_CRAWL_ALLOW_PRIVATE_TARGETS": "true"})
    got = cli.invoke(main, ["crawl", "run", "--processes", "2", "--cluster", _no_scheduler()])
    assert got.exit_code == 2, got.output
    assert "--processes 1" in got.output
    status = cli.invoke(main, ["crawl", "status", "--json"])
    assert json.loads(status.output) == {"page_queued": 1}


def test_a_crawl_that_loses_its_scheduler_stops_and_the_next_run_finishes(
    cluster: Any, tmp_path: Path
) -> None:
    """Media whose hashing the cluster cannot do are not marked failed: the crawl stops with the
    cluster's error and the URLs it held are crawled by the next run, losing nothing."""
    root = tmp_path / "site"
    build_site(root)
    gone = distributed.Client(cluster.scheduler_address, set_as_default=False)
    gone.close()  # a client whose scheduler is gone: every batch fails as if the scheduler went away
    settings = crawl_settings(tmp_path / "home", crawl_lease_seconds=1)
    store = Store.from_settings(settings)
    try:
        bank_known(store, settings, root)
        with serve_site(root) as site:
            here = _crawl(tmp_path, "reference", root, site.url, None)
            Frontier(store, settings, actor="cli:test").add([site.url + "/index.html"], source="analyst")
            with (
                pytest.raises(ClusterUnavailableError, match="lost the Dask scheduler"),
                Crawler.open(store, settings, hash_pool=DaskPool(gone).executor) as crawler,
            ):
                crawler.run(until_idle=True)
            held = _frontier_state(store)
            assert not any(state[1] == "failed" for state in held.values())
            assert not any(state[0] == "media" and state[1] == "done" for state in held.values())
            with Crawler.open(store, settings) as crawler:  # waits for the stopped crawl's leases
                crawler.run(until_idle=True)
        takedowns = sorted(
            (t.url.rsplit("/", 1)[1], t.page_url.rsplit("/", 1)[1], t.category, t.status)
            for t in TakedownService(store, settings).list_takedowns()
        )
        assert takedowns == here["takedowns"]
        assert _frontier_state(store) == here["frontier"]
    finally:
        store.dispose()


OHSC = str(Path(sys.executable).with_name("ohsc"))


@pytest.mark.slow
def test_a_case_ingest_that_loses_its_scheduler_finishes_when_run_again(cluster: Any, tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(60):
        (folder / f"p{i:03d}.jpg").write_bytes(jpeg(100 + i, (96, 72)))
    home = tmp_path / "home"
    cli = CliRunner(env={"OHSC_HOME": str(home), "OHSC_CLUSTER_BATCH_FILES": "2"})
    for name in ("local", "remote"):
        assert cli.invoke(main, ["case", "create", name]).exit_code == 0
    assert (
        cli.invoke(main, ["case", "ingest", "local", str(folder), "--workers", "0", "--quiet"]).exit_code == 0
    )
    port = free_port()
    doomed = subprocess.Popen(
        [OHSC, "cluster", "local", "--workers", "1", "--port", str(port)],
        env={**os.environ, "OHSC_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert doomed.stdout is not None
        address = doomed.stdout.readline().strip()  # `ohsc cluster local` prints the address first

        def journal_lines() -> int:
            return sum(len(p.read_bytes().splitlines()) for p in (home / "cases").glob("2/source-*.jsonl"))

        def kill_when_started() -> None:
            deadline = time.monotonic() + 240
            while journal_lines() < 6 and time.monotonic() < deadline:
                time.sleep(0.02)
            doomed.kill()  # scheduler and its worker, without a goodbye

        killer = threading.Thread(target=kill_when_started, daemon=True)
        killer.start()
        lost = cli.invoke(main, ["case", "ingest", "remote", str(folder), "--quiet", "--cluster", address])
        killer.join()
    finally:
        doomed.kill()
        doomed.wait()
        if doomed.stdout is not None:
            doomed.stdout.close()
    assert lost.exit_code == ClusterUnavailableError.exit_code, lost.output
    assert "lost the Dask scheduler" in lost.output and "run the same ingest again" in lost.output
    assert 0 < journal_lines() < 60
    again = cli.invoke(
        main, ["case", "ingest", "remote", str(folder), "--quiet", "--cluster", cluster.scheduler_address]
    )
    assert again.exit_code == 0, again.output
    stats = {
        n: json.loads(cli.invoke(main, ["case", "stats", n, "--json"]).output) for n in ("local", "remote")
    }
    assert stats["remote"] | {"case": "local"} == stats["local"]
    assert stats["local"]["files"] == 60
