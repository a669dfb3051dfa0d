"""Exchanges: checkpoints advance only with what was applied, bad records are skipped with a
note, credentials are sealed at rest."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from ohsc.banks.model import EntryInput
from ohsc.banks.records import records_of
from ohsc.banks.service import BankService
from ohsc.errors import ExchangeError, ExchangeExistsError, InvalidInputError
from ohsc.exchanges.kinds import register
from ohsc.exchanges.model import Exchange, ExchangeRecord, FetchedPage
from ohsc.exchanges.service import ExchangeService
from ohsc.exchanges.tables import ExchangeRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent

MD5 = [f"{i:032x}" for i in range(1, 20)]


class ScriptedExchange(Exchange):
    """Pages from :attr:`PAGES`; a page that is an exception is raised when reached."""

    kind = "test-scripted"
    secret_options = ("token",)
    required_options = ("token",)
    PAGES: ClassVar[list[list[ExchangeRecord] | Exception]] = []
    seen_checkpoints: ClassVar[list[Any]] = []

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchedPage]:
        type(self).seen_checkpoints.append(dict(checkpoint) if checkpoint else None)
        start = int((checkpoint or {}).get("page", 0))
        for n, page in enumerate(self.PAGES[start:], start + 1):
            if isinstance(page, Exception):
                raise page
            yield FetchedPage(list(page), {"page": n})


register(ScriptedExchange)


@pytest.fixture
def svc(store: Store, settings: Settings) -> ExchangeService:
    BankService(store, settings).create_bank("incoming")
    ScriptedExchange.PAGES = []
    ScriptedExchange.seen_checkpoints = []
    return ExchangeService(store, settings)


def _active(store: Store, settings: Settings) -> set[str]:
    return {e.value for e in BankService(store, settings).iter_entries("incoming")}


def test_credentials_are_sealed_and_never_listed(svc: ExchangeService, store: Store) -> None:
    svc.add("partner", "test-scripted", "incoming", {"note": "plain"}, {"token": "s3cret-token-value"})
    with store.session() as s:
        row = s.scalar(select(ExchangeRow))
        assert row is not None
        assert "s3cret" not in row.secrets_sealed and "s3cret" not in str(row.options)
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.add")))
        assert "s3cret" not in str(events[0].details)
    info = svc.list_exchanges()[0]
    assert info.options == {"note": "plain"} and info.secret_names == ("token",)
    assert "s3cret" not in str(info.to_dict())
    assert svc.client("partner").secrets == {"token": "s3cret-token-value"}
    with pytest.raises(ExchangeExistsError):
        svc.add("partner", "test-scripted", "incoming", {}, {"token": "x"})
    with pytest.raises(InvalidInputError):
        svc.add("other", "test-scripted", "incoming", {}, {})  # the token is required


def test_checkpoint_advances_only_with_committed_pages(
    svc: ExchangeService, store: Store, settings: Settings
) -> None:
    svc.add("partner", "test-scripted", "incoming", {}, {"token": "t"})
    ScriptedExchange.PAGES = [
        [ExchangeRecord("a", (("md5", MD5[0]),))],
        [ExchangeRecord("b", (("md5", MD5[1]),))],
        ExchangeError("the exchange went away"),
        [ExchangeRecord("c", (("md5", MD5[2]),))],
    ]
    with pytest.raises(ExchangeError):
        svc.sync("partner")
    info = svc.get("partner")
    assert info.checkpoint == {"page": 2} and info.last_error == "the exchange went away"
    assert _active(store, settings) == {MD5[0], MD5[1]}
    ScriptedExchange.PAGES[2] = []  # the exchange is back
    report = svc.sync("partner")
    assert ScriptedExchange.seen_checkpoints[-1] == {"page": 2}  # resumed, not restarted
    assert report.pages == 2 and report.changes.added == 1
    assert _active(store, settings) == {MD5[0], MD5[1], MD5[2]}
    assert svc.get("partner").last_error is None


def test_a_record_with_an_invalid_signal_is_skipped_with_a_note(
    svc: ExchangeService, store: Store, settings: Settings
) -> None:
    svc.add("partner", "test-scripted", "incoming", {}, {"token": "t"})
    ScriptedExchange.PAGES = [
        [
            ExchangeRecord("good", (("md5", MD5[0].upper()),), category="cat", labels=("x",)),
            ExchangeRecord("bad", (("md5", "not-a-hash"),)),
            ExchangeRecord("alien", (("no-such-type", "abc"),)),
            ExchangeRecord("good2", (("md5", MD5[1]),)),
        ]
    ]
    report = svc.sync("partner")
    assert report.records == 4 and report.skipped == 2
    assert any("'bad' skipped" in n for n in report.notes)
    assert any("'alien' skipped" in n for n in report.notes)
    assert _active(store, settings) == {MD5[0], MD5[1]}  # normalised to lower case
    with store.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.page")).one()
        assert event.details["skipped"] == 2 and event.details["added"] == 2


def test_a_withdrawal_retracts_what_the_record_brought(
    svc: ExchangeService, store: Store, settings: Settings
) -> None:
    svc.add("partner", "test-scripted", "incoming", {}, {"token": "t"})
    ScriptedExchange.PAGES = [
        [ExchangeRecord("a", (("md5", MD5[0]), ("sha1", "a" * 40))), ExchangeRecord("b", (("md5", MD5[1]),))],
        [ExchangeRecord("a", withdrawn=True)],
    ]
    report = svc.sync("partner")
    assert report.changes.retracted == 2
    assert _active(store, settings) == {MD5[1]}


def test_due_exchanges(svc: ExchangeService) -> None:
    svc.add("often", "test-scripted", "incoming", {}, {"token": "t"}, interval_seconds=60)
    svc.add("by-hand", "test-scripted", "incoming", {}, {"token": "t"}, interval_seconds=0)
    assert svc.due() == ["often"]
    svc.sync_due()
    assert svc.due() == []
    svc.remove("often")
    assert [i.name for i in svc.list_exchanges()] == ["by-hand"]


def test_another_source_keeps_a_withdrawn_hash_matching(
    svc: ExchangeService, store: Store, settings: Settings
) -> None:
    BankService(store, settings).add_entries("incoming", [EntryInput("md5", MD5[0], external_id="local-1")])
    svc.add("partner", "test-scripted", "incoming", {}, {"token": "t"})
    ScriptedExchange.PAGES = [
        [ExchangeRecord("a", (("md5", MD5[0]),)), ExchangeRecord("b", (("md5", MD5[1]), ("md5", MD5[2])))],
        # a record replaces itself: "b" lists one hash now, and "a" is withdrawn
        [ExchangeRecord("a", withdrawn=True), ExchangeRecord("b", (("md5", MD5[1]),))],
    ]
    svc.sync("partner")
    assert _active(store, settings) == {MD5[0], MD5[1]}  # the local record still lists MD5[0]
    entry = next(e for e in BankService(store, settings).iter_entries("incoming") if e.value == MD5[0])
    with store.session() as s:
        records = records_of(s, [entry.id])[entry.id]
        assert {(r.source, r.external_id, r.withdrawn_at is None) for r in records} == {
            ("manual", "local-1", True),
            ("exchange:partner", "a", False),
        }


def test_the_scheduled_job_syncs_what_is_due(svc: ExchangeService, store: Store, settings: Settings) -> None:
    from ohsc.web.exchange_jobs import sync_exchanges
    from ohsc.web.services import Services

    svc.add("often", "test-scripted", "incoming", {}, {"token": "t"}, interval_seconds=60)
    svc.add("other", "test-scripted", "incoming", {}, {"token": "t"}, interval_seconds=60)
    ScriptedExchange.PAGES = [[ExchangeRecord("a", (("md5", MD5[0]),))]]
    services = Services.open(settings, store)
    assert sync_exchanges(services) == 2  # one page each (both read the same script)
    assert _active(store, settings) == {MD5[0]}
    assert sync_exchanges(services) == 0  # not due again before its interval


def test_prefetch_keeps_order_raises_in_place_and_stops() -> None:
    from ohsc.exchanges.prefetch import prefetched

    def pages() -> Iterator[int]:
        yield from (1, 2, 3)
        raise ExchangeError("gone")

    got: list[int] = []

    def drain() -> None:
        got.extend(prefetched(pages()))

    with pytest.raises(ExchangeError, match="gone"):
        drain()
    assert got == [1, 2, 3]
    endless = prefetched(iter(range(10**9)))
    assert next(endless) == 0
    endless.close()  # the reader thread stops; nothing hangs


def test_a_record_listed_again_comes_back(svc: ExchangeService, store: Store, settings: Settings) -> None:
    svc.add("partner", "test-scripted", "incoming", {}, {"token": "t"})
    ScriptedExchange.PAGES = [
        [ExchangeRecord("a", (("md5", MD5[0]),))],
        [ExchangeRecord("a", withdrawn=True)],
    ]
    svc.sync("partner")
    assert _active(store, settings) == set()
    ScriptedExchange.PAGES.append([ExchangeRecord("a", (("md5", MD5[0]),))])  # restored at the source
    svc.sync("partner")
    assert _active(store, settings) == {MD5[0]}


def test_a_sync_whose_checkpoint_moved_stops(svc: ExchangeService, store: Store, settings: Settings) -> None:
    from ohsc.errors import ExchangeBusyError
    from ohsc.exchanges.model import FetchedPage
    from ohsc.exchanges.service import SyncReport, _Target

    svc.add("partner", "test-scripted", "incoming", {}, {"token": "t"})
    info = svc.get("partner")
    bank_id = svc.banks.get_bank("incoming").id
    page = FetchedPage([ExchangeRecord("a", (("md5", MD5[0]),))], {"page": 1})
    target = _Target(info.id, bank_id, "partner", True)
    with pytest.raises(ExchangeBusyError):  # another process got further than this sync expects
        svc._apply_pages(target, iter([page]), {"page": 7}, SyncReport("partner"), None)
    assert _active(store, settings) == set() and svc.get("partner").checkpoint is None


def test_statistics_are_refreshed_as_a_sync_grows_a_bank(store: Store, settings: Settings) -> None:
    """On PostgreSQL a bank filled by one long sync would keep the planner's idea of an empty
    table (a page's lookup then filters the whole bank); ``Store.analyze`` refreshes it."""
    from sqlalchemy import text

    BankService(store, settings).create_bank("grown")
    BankService(store, settings).add_entries("grown", [EntryInput("md5", v) for v in MD5])
    store.analyze("bank_entries", "entry_sources")  # a no-op on SQLite
    if store.dialect == "postgresql":
        with store.session() as s:
            tuples = s.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'bank_entries'::regclass"))
        assert tuples is not None and tuples >= len(MD5)
