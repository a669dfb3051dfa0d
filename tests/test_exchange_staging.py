"""A fresh bank's first sync is staged and moved into the bank at the end (see
:mod:`ohsc.exchanges.staging`): the bank ends as applying the pages one by one leaves it, a sync
killed while staging or while moving resumes with nothing lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select

import ohsc.exchanges.service as service
import ohsc.exchanges.staging as staging
import ohsc.exchanges.sync_group as sync_group
from ohsc.banks.model import EntryInput
from ohsc.banks.service import BankService
from ohsc.exchanges.kinds import register
from ohsc.exchanges.model import Exchange, ExchangeRecord, FetchedPage
from ohsc.exchanges.service import ExchangeService
from ohsc.exchanges.tables import ExchangeStagedRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent, BankRow, EntryRow, EntrySourceRow

MD5 = [f"{i:032x}" for i in range(1, 40)]
Page = list[ExchangeRecord] | BaseException | Callable[[], list[ExchangeRecord]]


class Killed(BaseException):
    """Stands for the process dying between two pages (not an exchange error: nothing handles it)."""


class StagedScript(Exchange):
    """Pages from :attr:`PAGES`; an exception is raised when reached, a callable is called."""

    kind = "test-staged"
    secret_options = ("token",)
    required_options = ("token",)
    PAGES: ClassVar[list[Page]] = []

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchedPage]:
        start = int((checkpoint or {}).get("page", 0))
        for n, page in enumerate(self.PAGES[start:], start + 1):
            if isinstance(page, BaseException):
                raise page
            yield FetchedPage(list(page() if callable(page) else page), {"page": n})


register(StagedScript)

#: every case the move must get right: a record withdrawn then listed again, one withdrawn for
#: good, a hash listed by two records (one withdrawn), a record with two signals, an update, a
#: withdrawal of a record never seen, a relisted record withdrawn again in the same page
SCRIPT: list[list[ExchangeRecord]] = [
    [
        ExchangeRecord("a", (("md5", MD5[0]),), category="c1", labels=("x",)),
        ExchangeRecord("b", (("md5", MD5[1]),)),
        ExchangeRecord("c", (("md5", MD5[2]), ("sha1", "a" * 40)), labels=("y", "z")),
        ExchangeRecord("d", (("md5", MD5[3]),), category="c3"),
        ExchangeRecord("e", (("md5", MD5[3]),), category="c4", labels=("w",)),
        ExchangeRecord("f", (("md5", MD5[4]),)),
        ExchangeRecord("k", (("md5", MD5[9]),)),
    ],
    [
        ExchangeRecord("a", withdrawn=True),
        ExchangeRecord("g", (("md5", MD5[5]),)),
        ExchangeRecord("b", (("md5", MD5[1]),), category="c2", labels=("v",)),
        ExchangeRecord("h", withdrawn=True),
        ExchangeRecord("d", withdrawn=True),
        ExchangeRecord("c", withdrawn=True),
    ],
    [
        ExchangeRecord("a", (("md5", MD5[0]),)),
        ExchangeRecord("f", withdrawn=True),
        ExchangeRecord("i", (("md5", MD5[6]),), labels=("u",)),
        ExchangeRecord("k", withdrawn=True),
    ],
    [ExchangeRecord("k", (("md5", MD5[9]),)), ExchangeRecord("k", withdrawn=True)],
    [ExchangeRecord(f"n{i}", (("md5", MD5[10 + i]),)) for i in range(20)],
]


#: what matches when the whole script is applied
FINAL = {MD5[0], MD5[1], MD5[3], MD5[5], MD5[6], *MD5[10:30]}


@pytest.fixture
def banks(store: Store, settings: Settings) -> BankService:
    StagedScript.PAGES = []
    return BankService(store, settings)


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stage from the first page on and commit every page (so a kill leaves pages behind)."""
    monkeypatch.setattr(service, "STAGE_RECORDS", 1)
    monkeypatch.setattr(sync_group, "GROUP_RECORDS", 1)
    monkeypatch.setattr(staging, "MOVE_SLICE", 4)


def _state(store: Store, bank: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The bank's entries (hash, retracted, category, labels, external id) and records (hash,
    external id, withdrawn, category, labels), whatever the exchange's name."""
    with store.session() as s:
        bank_id = s.scalars(select(BankRow.id).where(BankRow.name == bank)).one()
        entries = {
            (
                e.signal_type,
                e.value,
                e.retracted_at is not None,
                e.category,
                tuple(sorted(e.labels)),
                e.external_id,
            )
            for e in s.scalars(select(EntryRow).where(EntryRow.bank_id == bank_id))
        }
        records = {
            (
                st,
                value,
                r.source.partition(":")[0],
                r.external_id,
                r.withdrawn_at is not None,
                r.category,
                tuple(sorted(r.labels)),
            )
            for r, st, value in s.execute(
                select(EntrySourceRow, EntryRow.signal_type, EntryRow.value)
                .join(EntryRow, EntryRow.id == EntrySourceRow.entry_id)
                .where(EntrySourceRow.bank_id == bank_id)
            )
        }
    return entries, records


def _staged_rows(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(ExchangeStagedRow)) or 0


def _active(store: Store, settings: Settings, bank: str) -> set[str]:
    return {e.value for e in BankService(store, settings).iter_entries(bank)}


def test_a_staged_sync_ends_as_the_paged_one(
    banks: BankService, store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = ExchangeService(store, settings)
    for bank, name in (("paged", "p"), ("staged", "s")):
        banks.create_bank(bank)
        svc.add(name, "test-staged", bank, {}, {"token": "t"})
    StagedScript.PAGES = list(SCRIPT)
    monkeypatch.setattr(service, "STAGE_RECORDS", 10**9)
    paged = svc.sync("p")
    monkeypatch.setattr(service, "STAGE_RECORDS", 1)
    monkeypatch.setattr(staging, "MOVE_SLICE", 4)  # six slices
    staged = svc.sync("s")
    assert _state(store, "staged") == _state(store, "paged")
    assert staged.changes.added == paged.changes.added == 29
    assert _active(store, settings, "staged") == FINAL
    assert _staged_rows(store) == 0
    with store.session() as s:
        moves = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.staged.move")))
        assert len(moves) == 1 and moves[0].details["added"] == 29
        adds = s.scalars(select(AuditEvent).where(AuditEvent.action == "bank.entries.add"))
        assert [e.details["added"] for e in adds if e.details["source"] == "exchange:s"][:6] == [4] * 5 + [2]
        pages = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.page")))
        assert sum(e.details.get("staged", 0) for e in pages) == 39  # records
    # afterwards a sync applies page by page again, and withdrawals still reach the staged entries
    StagedScript.PAGES.append(
        [ExchangeRecord("n0", withdrawn=True), ExchangeRecord("z", (("md5", MD5[38]),))]
    )
    report = svc.sync("s")
    assert report.changes.retracted == 1 and report.changes.added == 1 and _staged_rows(store) == 0
    assert MD5[10] not in _active(store, settings, "staged") and MD5[38] in _active(store, settings, "staged")


def test_a_small_first_page_is_applied_page_by_page(
    banks: BankService, store: Store, settings: Settings
) -> None:
    banks.create_bank("incoming")
    svc = ExchangeService(store, settings)
    svc.add("small", "test-staged", "incoming", {}, {"token": "t"})
    StagedScript.PAGES = [[ExchangeRecord("a", (("md5", MD5[0]),))]]
    assert svc.sync("small").changes.added == 1
    with store.session() as s:
        assert not list(s.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.staged.move")))


def _killed_after_two_pages(banks: BankService, store: Store, settings: Settings) -> ExchangeService:
    """An exchange into a new bank "incoming" whose first sync dies after staging two pages."""
    banks.create_bank("incoming")
    svc = ExchangeService(store, settings)
    svc.add("partner", "test-staged", "incoming", {}, {"token": "t"})
    StagedScript.PAGES = [*SCRIPT[:2], Killed(), *SCRIPT[2:]]
    with pytest.raises(Killed):
        svc.sync("partner")
    return svc


def test_a_sync_killed_while_staging_resumes_with_nothing_lost_or_doubled(
    banks: BankService, store: Store, settings: Settings, staged: None
) -> None:
    svc = _killed_after_two_pages(banks, store, settings)
    assert svc.get("partner").checkpoint == {"page": 2}  # the two pages staged, committed
    assert _staged_rows(store) > 0 and _active(store, settings, "incoming") == set()
    # meanwhile the bank gets entries of its own: one of them a hash the exchange staged
    banks.add_entries("incoming", [EntryInput("md5", MD5[1]), EntryInput("md5", MD5[37])])
    StagedScript.PAGES[2] = []  # the process is back
    svc.sync("partner")
    assert _staged_rows(store) == 0
    entries, records = _state(store, "incoming")
    assert len(entries) == len({(e[0], e[1]) for e in entries}) == 30  # each hash once
    assert ("md5", MD5[1], "exchange", "b", False, "c2", ("v",)) in records
    assert ("md5", MD5[1], "manual", "", False, None, ()) in records
    assert _active(store, settings, "incoming") == {*FINAL, MD5[37]}


def test_a_reset_forgets_what_was_staged(
    banks: BankService, store: Store, settings: Settings, staged: None
) -> None:
    svc = _killed_after_two_pages(banks, store, settings)
    assert _staged_rows(store) > 0
    svc.reset("partner")
    assert _staged_rows(store) == 0 and svc.get("partner").checkpoint is None
    StagedScript.PAGES = list(SCRIPT)
    assert svc.sync("partner").changes.added == 29
    assert _active(store, settings, "incoming") == FINAL


#: the hashes of SCRIPT a move inserts in bulk (the rest need the record-by-record path)
BULK = {MD5[5], MD5[6], *MD5[10:30]}


@pytest.mark.parametrize("step", ["slice", "replay"])
def test_a_move_killed_half_way_resumes_with_nothing_lost_or_doubled(
    banks: BankService,
    store: Store,
    settings: Settings,
    staged: None,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:
    banks.create_bank("incoming")
    svc = ExchangeService(store, settings)
    svc.add("partner", "test-staged", "incoming", {}, {"token": "t"})
    StagedScript.PAGES = list(SCRIPT)
    calls: list[int] = []
    move_slice = staging.move_slice

    def third_slice_killed(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        move_slice(*args, **kwargs)

    def replay_killed(*args: object, **kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as m:
        if step == "slice":
            m.setattr(staging, "move_slice", third_slice_killed)
        else:
            m.setattr(staging, "apply_records", replay_killed)
        with pytest.raises(Killed):
            svc.sync("partner")
    moved = _active(store, settings, "incoming")
    assert moved == (set(sorted(BULK)[:8]) if step == "slice" else BULK)  # the committed slices
    assert _staged_rows(store) > 0 and svc.get("partner").checkpoint == {"page": len(SCRIPT)}
    report = svc.sync("partner")  # nothing new to fetch: what is left staged is moved
    assert report.changes.added == 29 - len(moved) and _staged_rows(store) == 0
    assert _active(store, settings, "incoming") == FINAL
    entries, _ = _state(store, "incoming")
    assert len(entries) == 29


def test_pages_staged_before_a_failing_page_are_moved(
    banks: BankService, store: Store, settings: Settings, staged: None
) -> None:
    from ohsc.errors import ExchangeError

    banks.create_bank("incoming")
    svc = ExchangeService(store, settings)
    svc.add("partner", "test-staged", "incoming", {}, {"token": "t"})
    StagedScript.PAGES = [SCRIPT[0], ExchangeError("the exchange went away")]
    with pytest.raises(ExchangeError):
        svc.sync("partner")
    assert _staged_rows(store) == 0  # matching now, not at the next successful sync
    assert _active(store, settings, "incoming") == {MD5[0], MD5[1], MD5[2], MD5[3], MD5[4], MD5[9], "a" * 40}


_CHILD = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import ohsc.exchanges.service as service
import ohsc.exchanges.sync_group as sync_group
import test_exchange_staging as t
from ohsc.exchanges.service import ExchangeService
from ohsc.settings import load_settings
from ohsc.store.db import Store

service.STAGE_RECORDS = 1
sync_group.GROUP_RECORDS = 1
t.StagedScript.PAGES = [*t.SCRIPT[:3], lambda: os.kill(os.getpid(), signal.SIGKILL) or []]
ExchangeService(Store({url!r}), load_settings(home={home!r})).sync("partner")
"""


def test_kill_9_while_staging(sqlite_store: Store, settings: Settings) -> None:
    """A real ``kill -9`` of the syncing process (SQLite: the file outlives the process)."""
    StagedScript.PAGES = []
    banks = BankService(sqlite_store, settings)
    banks.create_bank("incoming")
    svc = ExchangeService(sqlite_store, settings)
    svc.add("partner", "test-staged", "incoming", {}, {"token": "t"})
    code = _CHILD.format(tests=str(Path(__file__).parent), url=sqlite_store.url, home=str(settings.home))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    checkpoint = svc.get("partner").checkpoint
    assert checkpoint is not None and 1 <= checkpoint["page"] <= 3
    StagedScript.PAGES = list(SCRIPT)
    svc.sync("partner")
    assert _staged_rows(sqlite_store) == 0
    entries, _ = _state(sqlite_store, "incoming")
    assert len(entries) == 29
    assert _active(sqlite_store, settings, "incoming") == FINAL
