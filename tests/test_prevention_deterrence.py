"""The deterrence check end to end, aggregate counters, and the proof that checked texts are
never stored or logged."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from ohsc.actor import ROLE_ADMIN, LocalActor
from ohsc.errors import HelpServiceNotFoundError, InvalidInputError
from ohsc.prevention.counters import CounterBuffer, PreventionStats, today, upsert_counts
from ohsc.prevention.deterrence import DeterrenceService
from ohsc.prevention.directory import HelpDirectory, ResourceCache
from ohsc.prevention.messages import MessageCatalogue
from ohsc.prevention.registry import TermListRegistry
from ohsc.settings import Settings
from ohsc.store.all_models import metadata
from ohsc.store.db import Store

ADMIN = LocalActor.of("user:admin", [ROLE_ADMIN])


@pytest.fixture
def lists_dir(tmp_path: Path) -> Path:
    d = tmp_path / "lists"
    d.mkdir()
    (d / "a-en.txt").write_text("# invented\nzorblat\nvextor prane\n", encoding="utf-8")
    (d / "b-de.toml").write_text(
        'language = "de"\nterms = ["plemt", "zorblat"]\nmessage = "deterrence.search"\n', encoding="utf-8"
    )
    return d


@pytest.fixture
def service(store: Store, lists_dir: Path) -> DeterrenceService:
    directory = HelpDirectory(store)
    directory.seed(ADMIN)
    return DeterrenceService(
        TermListRegistry(directory=lists_dir, check_seconds=0),
        MessageCatalogue(),
        ResourceCache(directory),
        CounterBuffer(store, flush_seconds=3600),
        max_chars=500,
    )


def test_triggered_check_answers_with_message_and_help(service: DeterrenceService) -> None:
    result = service.check("where to find z0rbl4t", locale="en-GB", country="gb", context="search")
    body = result.to_dict()
    assert body["triggered"] is True
    assert body["list"] == "a-en"
    assert body["lists"] == ["a-en", "b-de"]
    assert body["message"]["id"] == "deterrence.search"
    assert body["message"]["locale"] == "en"
    assert body["message"]["version"] >= 1
    assert "illegal" in body["message"]["body"]
    assert body["resources"][0]["name"] == "Stop It Now helpline (UK and Ireland)"
    assert body["resources"][0]["click_url"] == f"/v1/deterrence/go/{body['resources'][0]['id']}"
    assert len(body["resources"]) == 3


def test_not_triggered(service: DeterrenceService) -> None:
    assert service.check("weather tomorrow", locale="de").to_dict() == {
        "triggered": False,
        "list": None,
        "lists": [],
        "message": None,
        "resources": [],
        "locale": "de",
    }
    assert service.check("").triggered is False


def test_message_language_follows_request_then_list(service: DeterrenceService) -> None:
    german = service.check("PLEMT")  # no locale given: the list's language
    assert german.message is not None
    assert (german.message.locale, german.message.id) == ("de", "deterrence.search")  # the list's message
    # no country and no help in German online: international help in English
    assert [r.name for r in german.resources] == ["ReDirection Self-Help Program", "Troubled Desire"]
    french = service.check("plemt", locale="fr-BE", country="BE")
    assert french.message is not None
    assert french.message.locale == "fr"
    assert french.resources[0].name == "Stop it Now! Bruxelles"
    unknown = service.check("zorblat", locale="tlh")
    assert unknown.locale == "en"


def test_bad_input_is_refused_without_echoing_it(service: DeterrenceService) -> None:
    with pytest.raises(InvalidInputError) as info:
        service.check("zorblat " * 100)
    assert "zorblat" not in info.value.message
    with pytest.raises(InvalidInputError):
        service.check("x", context="diary")
    with pytest.raises(InvalidInputError):
        service.check(123)  # type: ignore[arg-type]
    assert service.check("zorblat", country="not a country").triggered


def test_counters_clicks_and_views(service: DeterrenceService, store: Store) -> None:
    service.check("zorblat", locale="en")
    service.check("zorblat", locale="de")
    service.check("plemt", locale="de")
    service.check("nothing here", locale="de")
    resource = service.check("zorblat", locale="en", country="GB").resources[0]
    assert service.click(resource.id, locale="en") == "https://www.stopitnow.org.uk"
    service.view("interstitial", locale="fr")
    with pytest.raises(HelpServiceNotFoundError):
        service.click(999_999)
    assert service.flush() > 0
    stats = PreventionStats(store)
    series = stats.daily(("checks", "triggers", "clicks", "views"), days=3)
    assert [v[-1] for v in series.series.values()] == [5, 4, 1, 1]
    assert series.series["checks"][:-1] == (0, 0)
    assert dict(stats.breakdown("triggers", "list")) == {"a-en": 3, "b-de": 1}
    assert dict(stats.breakdown("checks", "locale")) == {"en": 2, "de": 3}
    assert dict(stats.breakdown("clicks", "resource")) == {str(resource.id): 1}
    assert series.to_dict()["days"][-1] == today().isoformat()


def test_counter_upserts_add_up(store: Store) -> None:
    day = date(2026, 1, 1)
    key = (day, "checks", "", "en", 0)
    with store.session() as s:
        upsert_counts(s, {key: 2})
    with store.session() as s:
        upsert_counts(s, {key: 3, (day, "triggers", "a", "en", 0): 1})
    stats = PreventionStats(store)
    series = stats.daily(("checks", "triggers"), since=day - timedelta(days=1), until=day)
    assert series.series == {"checks": (0, 5), "triggers": (0, 1)}
    with pytest.raises(InvalidInputError):
        stats.daily(("searches",))
    with pytest.raises(InvalidInputError):
        stats.breakdown("checks", "user")


def test_the_list_in_force_changes_without_restart(service: DeterrenceService, lists_dir: Path) -> None:
    assert not service.check("glimmoth").triggered
    (lists_dir / "c.txt").write_text("glimmoth\n", encoding="utf-8")
    assert service.check("glimmoth").list == "c"


def test_from_settings(settings: Settings, sqlite_store: Store, lists_dir: Path) -> None:
    svc = DeterrenceService.from_settings(settings, sqlite_store, terms=[lists_dir / "a-en.txt"], count=False)
    assert svc.check("zorblat").list == "a-en"
    assert svc.counters is None


SECRETS = ("qzxmarker4711", "z0rbl4t qzxmarker4712", "vextor prane qzxmarker4713")


def _dump_everything(store: Store) -> str:
    parts: list[str] = []
    with store.session() as s:
        for table in metadata.sorted_tables:
            for row in s.execute(select(table)):
                parts.append(repr(tuple(row)))
        if store.dialect == "postgresql":
            # the statistics PostgreSQL keeps about recent statements of this session
            parts.extend(str(r) for r in s.execute(text("SELECT query FROM pg_stat_activity")))
    return "\n".join(parts)


def test_checked_text_never_reaches_the_database_or_logs(
    service: DeterrenceService, store: Store, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Dump every table, every SQL statement sent with its parameters, and every log record:
    none holds a checked text (or a locale made to carry one)."""
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        statements.append(f"{statement} {parameters!r}")

    caplog.set_level(logging.DEBUG)
    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        for text_ in SECRETS:
            for locale in ("en", "de", "zz-qzxmark", None):
                service.check(text_, locale=locale, country="GB", context="search")
        with pytest.raises(InvalidInputError):
            service.check("qzxmarker4714 " * 100)
        resource = service.check("zorblat", locale="en", country="GB").resources[0]
        service.click(resource.id, locale="qzxmarker4715")
        assert service.flush() > 0
        dump = _dump_everything(store)
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    sql = "\n".join(statements)
    assert "prevention_counters" in sql  # the capture really saw the writes
    assert "triggers" in dump  # and the dump really holds the counters
    for haystack in (dump, sql, caplog.text):
        assert "qzxmark" not in haystack
        assert "z0rbl4t" not in haystack
        assert "vextor prane" not in haystack
    if store.dialect == "sqlite":
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*") if p.is_file())  # with journal/WAL
        assert raw
        assert b"qzxmark" not in raw
        assert b"z0rbl4t" not in raw
