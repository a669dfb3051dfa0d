"""The Dask cluster fixtures of the cluster tests: two worker processes of one thread each on
loopback (the machine has two cores), started once per test module, and a client of it made as
scans make theirs (:func:`ohsc.cluster.pool.connect`: results fetched from the workers directly)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from ohsc.cluster.local import start_local  # noqa: E402
from ohsc.cluster.pool import connect  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    local = start_local(2, threads=1, memory_limit="1GiB")
    try:
        yield local
    finally:
        local.close()


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    c = connect(cluster.scheduler_address)
    try:
        c.wait_for_workers(2, timeout=60)
        yield c
    finally:
        c.close()
