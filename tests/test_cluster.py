"""Scans on a Dask cluster: a ``LocalCluster`` of processes on loopback gives the same records as
a local scan, for folders and archives; a worker killed mid-scan costs nothing but time."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ohsc.banks import BankService
from ohsc.cli import main
from ohsc.errors import ClusterUnavailableError
from ohsc.index.manager import IndexSet
from ohsc.matching import Matcher
from ohsc.scanning.runner import Scanner, ScanOptions, ScanSummary
from ohsc.settings import Settings
from ohsc.signals.files import HashOptions
from ohsc.store.db import Store
from tests.images import picture
from tests.test_scan import KNOWN, build_tree, jpeg

distributed = pytest.importorskip("distributed")

from ohsc.cluster.local import start_local  # noqa: E402
from ohsc.cluster.pool import DaskPool, connect  # noqa: E402
from tests import dask_cluster  # noqa: E402

cluster, client = dask_cluster.cluster, dask_cluster.client  # the fixtures, started once per module

pytestmark = [pytest.mark.xdist_group("dask-cluster"), pytest.mark.filterwarnings("ignore::ResourceWarning")]


@pytest.fixture
def env(sqlite_store: Store, settings: Settings, tmp_path: Path) -> tuple[Matcher, Path, Settings]:
    banks = BankService(sqlite_store, settings)
    banks.create_bank("known")
    src = tmp_path / "known"
    src.mkdir()
    for i, im in enumerate(KNOWN):
        (src / f"k{i}.jpg").write_bytes(jpeg(im, 95))
    banks.add_files("known", sorted(src.iterdir()))
    matcher = Matcher(sqlite_store, settings, IndexSet.open(sqlite_store, settings.index_dir))
    root = tmp_path / "evidence"
    build_tree(root)
    return matcher, root, settings


def scan(
    matcher: Matcher | None, settings: Settings, root: Path | str, pool: DaskPool | None = None, **kw: Any
) -> tuple[list[dict[str, Any]], ScanSummary]:
    records: list[dict[str, Any]] = []
    options = ScanOptions(workers=2, hash=HashOptions.from_settings(settings), pool=pool, **kw)
    summary = Scanner(settings, matcher).run(root, options, records.append)
    return records, summary


def by_path(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    paths = [r["path"] for r in records]
    assert len(paths) == len(set(paths)), "one record per item"
    return {r["path"]: r for r in records}


def test_cluster_scan_gives_the_records_of_a_local_scan(
    env: tuple[Matcher, Path, Settings], client: Any
) -> None:
    matcher, root, settings = env
    local, local_summary = scan(matcher, settings, root, inline=True)
    remote, remote_summary = scan(matcher, settings, root, DaskPool(client, batch_items=4))
    assert by_path(remote) == by_path(local)
    assert any("!" in r["path"] for r in remote), "archive members were scanned"
    assert by_path(remote)["archives/photos.zip!inner/copy.jpg"]["matched"]
    mine, theirs = local_summary.to_dict(), remote_summary.to_dict()
    for timing in ("elapsed_s", "files_per_s"):
        del mine[timing], theirs[timing]
    assert theirs == mine


def test_cluster_scan_of_one_archive_and_resume(env: tuple[Matcher, Path, Settings], client: Any) -> None:
    matcher, root, settings = env
    pool = DaskPool(client, batch_items=3)
    local, _ = scan(matcher, settings, root / "archives/photos.zip", inline=True)
    remote, _ = scan(matcher, settings, root / "archives/photos.zip", pool)
    assert by_path(remote) == by_path(local)
    done = frozenset(r["path"] for r in local[:2])
    rest, summary = scan(matcher, settings, root / "archives/photos.zip", pool, skip=done)
    assert summary.resumed_skipped == 2
    assert set(by_path(rest)) == set(by_path(local)) - done


def test_a_worker_killed_mid_scan_costs_time_not_records(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(48):
        (folder / f"p{i:03d}.jpg").write_bytes(jpeg(picture(i, (96, 72))))
    local, _ = scan(None, settings, folder, inline=True)
    pids = client.run(os.getpid)
    killed: list[int] = []
    records: list[dict[str, Any]] = []

    def on_record(record: dict[str, Any]) -> None:
        records.append(record)
        if len(records) == 4 and not killed:  # batches are running on both workers now
            victim = next(iter(pids.values()))
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    options = ScanOptions(
        workers=2, hash=HashOptions.from_settings(settings), pool=DaskPool(client, batch_items=2)
    )
    Scanner(settings, None).run(folder, options, on_record)
    assert killed
    assert by_path(records) == by_path(local)  # every file once, same hashes
    # the worker its nanny started again has the local cluster's settings too
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the dead worker may still be listed a moment
            now = client.run(os.getpid)
            if len(now) == 2 and killed[0] not in now.values():
                break
        time.sleep(0.2)
    assert set(client.run(_worker_settings).values()) == {(None, False)}


def _worker_settings() -> tuple[str | None, bool]:
    import dask.config

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), bool(
        dask.config.get("distributed.worker.profile.enabled")
    )


def test_local_cluster_workers_skip_what_costs_cpu_per_file(client: Any) -> None:
    """`ohsc cluster local` workers keep glibc's adaptive mmap threshold (Dask's nannies would set
    MALLOC_TRIM_THRESHOLD_: about 40 % more CPU per picture) and run no statistical profiler."""
    assert set(client.run(_worker_settings).values()) == {(None, False)}
    assert client.direct_to_workers is True  # results come from the workers, not via the scheduler


def test_dask_setting_keeps_results_going_through_the_scheduler(cluster: Any) -> None:
    """Where the scanning machine cannot reach the workers: DASK_DISTRIBUTED__CLIENT__DIRECT_TO_WORKERS=False."""
    import dask

    with dask.config.set({"distributed.client.direct-to-workers": False}):
        c = connect(cluster.scheduler_address)
    try:
        assert c.direct_to_workers is False
        assert c.submit(len, [1, 2, 3], pure=False).result() == 3
    finally:
        c.close()


def _records(path: Path) -> dict[str, dict[str, Any]]:
    return by_path([json.loads(line) for line in path.read_text().splitlines()])


def test_ohsc_scan_cluster_writes_the_same_journal(cluster: Any, tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    build_tree(folder)
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})
    local = cli.invoke(main, ["scan", str(folder), "--json", str(tmp_path / "local.jsonl"), "--workers", "1"])
    assert local.exit_code == 0, local.output
    flag = cli.invoke(
        main,
        ["scan", str(folder), "--json", str(tmp_path / "flag.jsonl"), "--cluster", cluster.scheduler_address],
    )
    assert flag.exit_code == 0, flag.output
    assert _records(tmp_path / "flag.jsonl") == _records(tmp_path / "local.jsonl")
    assert flag.output.splitlines()[-1] == local.output.splitlines()[-1]  # the same summary line
    by_env = CliRunner(
        env={"OHSC_HOME": str(tmp_path / "home"), "OHSC_DASK_SCHEDULER": cluster.scheduler_address}
    ).invoke(main, ["scan", str(folder / "archives"), "--json", str(tmp_path / "env.jsonl"), "--quiet"])
    assert by_env.exit_code == 0, by_env.output
    archives = {
        k.removeprefix("archives/"): v | {"path": k.removeprefix("archives/")}
        for k, v in _records(tmp_path / "local.jsonl").items()
        if k.startswith("archives/")
    }
    assert _records(tmp_path / "env.jsonl") == archives


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg(picture(1, (64, 48))))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home"), "OHSC_CLUSTER_CONNECT_SECONDS": "1"})
    result = cli.invoke(main, ["scan", str(folder), "--cluster", f"tcp://127.0.0.1:{port}", "--quiet"])
    assert result.exit_code == ClusterUnavailableError.exit_code == 8
    assert "cannot reach the Dask scheduler" in result.output


# --- inputs beyond local paths: fsspec URLs -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setenv(values: dict[str, str]) -> None:  # runs on the Dask workers
    os.environ.update(values)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[dict[str, str]]:
    """moto's S3-compatible server on loopback, a separate process; the AWS variables that point
    boto (and so s3fs) at it."""
    pytest.importorskip("s3fs")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.2)
    try:
        yield {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_an_s3_prefix_scans_like_the_same_folder(
    env: tuple[Matcher, Path, Settings],
    client: Any,
    s3_server: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import s3fs  # type: ignore[import-untyped]

    matcher, root, settings = env
    for key, value in s3_server.items():
        monkeypatch.setenv(key, value)
    client.run(_setenv, s3_server)
    folder = tmp_path / "case"  # the regular files of the evidence tree: what a bucket can hold
    for sub in ("ok", "archives"):
        shutil.copytree(root / sub, folder / sub)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir("evidence-bucket")
    fs.put(str(folder) + "/", "evidence-bucket/case-17/", recursive=True)
    local, _ = scan(matcher, settings, folder, inline=True)
    url = "s3://evidence-bucket/case-17"
    on_cluster, _ = scan(matcher, settings, url, DaskPool(client, batch_items=4))
    assert by_path(on_cluster) == by_path(local)
    assert by_path(on_cluster)["archives/photos.zip!inner/copy.jpg"]["matched"]
    here, _ = scan(matcher, settings, url, inline=True)
    assert by_path(here) == by_path(local)
    one, _ = scan(matcher, settings, url + "/ok/copy.jpg", inline=True)
    assert by_path(one) == {"copy.jpg": by_path(local)["ok/copy.jpg"] | {"path": "copy.jpg"}}


def test_a_file_url_on_shared_storage(
    env: tuple[Matcher, Path, Settings], cluster: Any, tmp_path: Path
) -> None:
    _, root, _ = env
    cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home")})
    folder = root / "ok"
    assert (
        cli.invoke(main, ["scan", str(folder), "--json", str(tmp_path / "l.jsonl"), "--quiet"]).exit_code == 0
    )
    result = cli.invoke(
        main,
        [
            "scan",
            folder.as_uri(),
            "--json",
            str(tmp_path / "u.jsonl"),
            "--cluster",
            cluster.scheduler_address,
        ],
    )
    assert result.exit_code == 0, result.output
    assert _records(tmp_path / "u.jsonl") == _records(tmp_path / "l.jsonl")


# --- faults: the client killed, the scheduler gone -------------------------------------------------

OHSC = str(Path(sys.executable).with_name("ohsc"))


def _pictures(folder: Path, n: int) -> list[str]:
    folder.mkdir()
    for i in range(n):
        (folder / f"p{i:03d}.jpg").write_bytes(jpeg(picture(i, (96, 72))))
    return sorted(p.name for p in folder.iterdir())


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def _journal_paths(path: Path) -> list[str]:
    return [json.loads(line)["path"] for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_the_client_killed_then_resume_on_the_same_cluster(cluster: Any, tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    names = _pictures(folder, 80)
    journal = tmp_path / "records.jsonl"
    cmd = [
        OHSC,
        "scan",
        str(folder),
        "--json",
        str(journal),
        "--quiet",
        "--cluster",
        cluster.scheduler_address,
    ]
    env = {**os.environ, "OHSC_HOME": str(tmp_path / "home"), "OHSC_CLUSTER_BATCH_FILES": "2"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _lines(journal) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    before = _lines(journal)
    assert 0 < before < len(names), "killed mid-scan"
    done = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    paths = _journal_paths(journal)
    assert sorted(paths) == names  # every file exactly once


@pytest.mark.slow
def test_the_scheduler_gone_is_a_clear_error_and_the_scan_resumes(cluster: Any, tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    names = _pictures(folder, 80)
    port = _free_port()
    doomed = subprocess.Popen(
        [OHSC, "cluster", "local", "--workers", "1", "--port", str(port)],
        env={**os.environ, "OHSC_HOME": str(tmp_path / "home")},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert doomed.stdout is not None
        address = doomed.stdout.readline().strip()  # `ohsc cluster local` prints the address first
        assert address == f"tcp://127.0.0.1:{port}"
        journal = tmp_path / "records.jsonl"
        cli = CliRunner(env={"OHSC_HOME": str(tmp_path / "home"), "OHSC_CLUSTER_BATCH_FILES": "2"})

        def kill_when_started() -> None:
            deadline = time.monotonic() + 240
            while _lines(journal) < 6 and time.monotonic() < deadline:
                time.sleep(0.02)
            doomed.kill()  # scheduler and its worker, without a goodbye

        killer = threading.Thread(target=kill_when_started, daemon=True)
        killer.start()
        lost = cli.invoke(
            main, ["scan", str(folder), "--json", str(journal), "--quiet", "--cluster", address]
        )
        killer.join()
    finally:
        doomed.kill()
        doomed.wait()
        if doomed.stdout is not None:
            doomed.stdout.close()  # else an unclosed-file warning fails whichever test runs next
    assert lost.exit_code == ClusterUnavailableError.exit_code, lost.output
    assert "lost the Dask scheduler" in lost.output and "--resume" in lost.output
    before = _journal_paths(journal)
    assert 0 < len(before) < len(names)
    resumed = cli.invoke(
        main,
        [
            "scan",
            str(folder),
            "--json",
            str(journal),
            "--quiet",
            "--resume",
            "--cluster",
            cluster.scheduler_address,
        ],
    )
    assert resumed.exit_code == 0, resumed.output
    assert sorted(_journal_paths(journal)) == names


@pytest.mark.slow
def test_a_file_that_crashes_its_worker_costs_one_record(settings: Settings, tmp_path: Path) -> None:
    import dask

    from tests import crashy

    folder = tmp_path / "pictures"
    _pictures(folder, 12)
    (folder / "poison.jpg").write_bytes(jpeg(picture(99, (96, 72))))
    # a task that took a worker down once is given up on (KilledWorker) instead of retried 3 times
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        own = start_local(1, threads=1, memory_limit="1GiB")
    try:
        c = distributed.Client(own.scheduler_address, set_as_default=False)
        try:
            c.wait_for_workers(1, timeout=60)
            recs, summary = scan(
                None, settings, folder, DaskPool(c, batch_items=4), job=crashy.crash_on_poison
            )
        finally:
            c.close()
    finally:
        own.close()
    got = by_path(recs)
    assert len(got) == 13
    assert got["poison.jpg"]["error_code"] == "worker_crash"
    assert all(r.get("md5") for name, r in got.items() if name != "poison.jpg")
    assert summary.errors == 1
