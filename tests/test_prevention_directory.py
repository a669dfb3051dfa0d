"""The help directory: seed data, edits, search, ranking for deterrence messages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ohsc import audit
from ohsc.actor import ROLE_ADMIN, ROLE_INVESTIGATOR, ROLE_PREVENTION_ADMIN, LocalActor
from ohsc.errors import HelpServiceNotFoundError, InvalidInputError, PermissionDeniedError
from ohsc.prevention.directory import HelpDirectory, ResourceCache, rank_resources, seed_entries
from ohsc.prevention.service_fields import AUDIENCES
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent

ADMIN = LocalActor.of("user:admin", [ROLE_PREVENTION_ADMIN])
NOBODY = LocalActor.of("user:visitor", [])


def test_seed_data_is_well_formed() -> None:
    version, entries = seed_entries()
    assert version >= 1
    keys = [e["key"] for e in entries]
    assert len(keys) == len(set(keys)) >= 12
    for entry in entries:
        assert entry["sources"], f"{entry['key']} names no public source"
        assert entry.get("verified_on"), f"{entry['key']} has no verification date"
        assert set(entry["audiences"]) <= set(AUDIENCES)
        assert entry.get("phone") or entry.get("url"), f"{entry['key']} has no way to reach it"
    names = {e["name"] for e in entries}
    assert {"Stop It Now helpline (UK and Ireland)", "Troubled Desire", "Kein Täter werden"} <= names
    assert any("ReDirection" in n for n in names)


def test_seed_adds_missing_services_and_never_overwrites_edits(store: Store) -> None:
    d = HelpDirectory(store)
    first = d.seed(ADMIN, only_new=True)
    _version, entries = seed_entries()
    assert len(first.added) == len(entries)
    assert len(d.all()) == len(entries)

    uk = next(s for s in d.all() if s.seed_key == "stop-it-now-uk-ie")
    d.update(ADMIN, uk.id, {"hours": "Mon-Thu 9:00-21:00", "priority": 1})
    again = d.seed(ADMIN)
    assert again.added == ()
    assert d.get(uk.id).hours == "Mon-Thu 9:00-21:00"

    d.remove(ADMIN, uk.id)
    assert d.seed(ADMIN, only_new=True).added == ()  # removed services stay removed at start-up
    assert d.seed(ADMIN).added == ("stop-it-now-uk-ie",)  # an explicit seed restores them


def test_edits_are_validated_and_audited(store: Store) -> None:
    d = HelpDirectory(store)
    svc = d.add(
        ADMIN,
        {
            "name": "Example helpline",
            "countries": ["gb", "IE"],
            "languages": ["EN", "pt_BR"],
            "audiences": ["parents", "self"],
            "phone": "0800 000 000",
            "url": "https://help.example.org/start",
            "verified_on": "2026-01-02",
        },
    )
    assert svc.countries == ("GB", "IE")
    assert svc.languages == ("en", "pt-br")
    assert svc.audiences == ("self", "parents")
    assert svc.tel == "0800000000"
    d.update(ADMIN, svc.id, {"enabled": False})
    assert svc.id not in {s.id for s in d.all()}
    assert svc.id in {s.id for s in d.all(include_disabled=True)}
    with store.session() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(svc.id))))
        assert actions == ["help_service.add", "help_service.update"]
        assert audit.verify(s).ok


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"countries": ["GB"], "languages": ["en"], "audiences": ["self"]}, "name is required"),
        (
            {"name": "x", "countries": ["GBR"], "languages": ["en"], "audiences": ["self"]},
            "countries are ISO",
        ),
        (
            {"name": "x", "countries": ["GB"], "languages": ["english!"], "audiences": ["self"]},
            "languages are",
        ),
        ({"name": "x", "countries": ["GB"], "languages": ["en"], "audiences": ["everyone"]}, "audiences are"),
        (
            {
                "name": "x",
                "countries": ["GB"],
                "languages": ["en"],
                "audiences": ["self"],
                "url": "javascript:alert(1)",
            },
            "url must be",
        ),
        (
            {
                "name": "x",
                "countries": ["GB"],
                "languages": ["en"],
                "audiences": ["self"],
                "phone": "<b>1</b>",
            },
            "phone may hold",
        ),
        (
            {"name": "x", "countries": ["GB"], "languages": ["en"], "audiences": ["self"], "colour": "red"},
            "unknown",
        ),
        ({"name": "a\nb", "countries": ["GB"], "languages": ["en"], "audiences": ["self"]}, "one line"),
    ],
)
def test_bad_fields_are_refused(store: Store, fields: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        HelpDirectory(store).add(ADMIN, fields)


def test_only_admins_edit(store: Store) -> None:
    d = HelpDirectory(store)
    with pytest.raises(PermissionDeniedError):
        d.add(NOBODY, {"name": "x", "countries": ["GB"], "languages": ["en"], "audiences": ["self"]})
    with pytest.raises(PermissionDeniedError):
        d.seed(LocalActor.of("user:inv", [ROLE_INVESTIGATOR]))
    d.seed(LocalActor.of("user:root", [ROLE_ADMIN]))
    with pytest.raises(HelpServiceNotFoundError):
        d.update(ADMIN, 10_000, {"name": "y"})


def test_public_search_by_country_language_audience(store: Store) -> None:
    d = HelpDirectory(store)
    d.seed(ADMIN)
    be_fr = d.search(country="BE", language="fr")
    assert [s.seed_key for s in be_fr][:1] == ["stop-it-now-brussels"]
    assert all(s.speaks("fr") for s in be_fr)
    de = d.search(country="de")
    assert {"kein-taeter-werden", "hilfetelefon-sexueller-missbrauch"} <= {s.seed_key for s in de}
    assert de[0].countries == ("DE",)  # the country's own services before international ones
    assert all("GB" not in s.countries or s.international for s in de)
    survivors_us = d.search(country="US", audience="survivors")
    assert {"rainn-hotline", "ncmec-cybertipline", "take-it-down"} <= {s.seed_key for s in survivors_us}
    assert {s.seed_key for s in d.search(query="self-help")} >= {"redirection", "troubled-desire"}
    assert "DE" in d.countries()
    assert "fr" in d.languages()


def test_resources_for_a_deterrence_message(store: Store) -> None:
    d = HelpDirectory(store)
    d.seed(ADMIN)
    services = d.all()

    def keys(country: str | None, locale: str | None) -> list[str | None]:
        ranked = rank_resources(services, country=country, locale=locale, audience="self", limit=3)
        return [s.seed_key for s in ranked]

    assert keys("GB", "en")[0] == "stop-it-now-uk-ie"
    assert keys("DE", "de")[0] == "kein-taeter-werden"
    assert keys("BE", "nl")[0] == "stop-it-now-flanders"
    assert keys("BE", "fr")[0] == "stop-it-now-brussels"
    es = keys("MX", "es")
    assert es[0] == "redirection"  # international, in Spanish
    assert keys("DE", "en")[:2] == ["redirection", "troubled-desire"]  # English first, then German
    assert "kein-taeter-werden" in keys("DE", "en")
    assert keys(None, None)[0] in {"redirection", "troubled-desire"}
    assert len(keys("GB", "en")) == 3
    cache = ResourceCache(d)
    assert [s.seed_key for s in cache.resources_for(country="GB", locale="en")] == keys("GB", "en")
    assert cache.get(services[0].id) == services[0]
