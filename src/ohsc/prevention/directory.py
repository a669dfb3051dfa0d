"""The help directory: services with their public contact details, searchable by country,
language and audience, seeded with well-known public services and editable by admins.
"""

from __future__ import annotations

import functools
import re
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from typing import Any

from sqlalchemy import select

from ohsc import audit
from ohsc.actor import ROLE_PREVENTION_ADMIN, Actor, require
from ohsc.errors import HelpServiceNotFoundError
from ohsc.prevention.messages import normalise_locale
from ohsc.prevention.models import HelpServiceRow
from ohsc.prevention.service_fields import validate_fields
from ohsc.store.db import Store
from ohsc.store.models import MetaValue

SEED_META_KEY = "prevention.directory_seed_version"


@dataclass(frozen=True, slots=True)
class HelpService:
    id: int
    seed_key: str | None
    name: str
    organisation: str
    description: str
    countries: tuple[str, ...]
    languages: tuple[str, ...]
    audiences: tuple[str, ...]
    phone: str
    phone_note: str
    url: str
    chat_url: str
    email: str
    hours: str
    sources: tuple[str, ...]
    enabled: bool
    priority: int
    verified_on: date | None
    updated_at: datetime | None = None

    @property
    def international(self) -> bool:
        return "*" in self.countries

    @property
    def tel(self) -> str:
        """The phone number for a ``tel:`` link (digits and a leading +), or empty."""
        if not self.phone or any(c.isalpha() for c in self.phone):
            return ""
        digits = re.sub(r"[^0-9+]", "", self.phone)
        return digits

    @property
    def description_language(self) -> str | None:
        """The description's language where known: a shipped service's description is in English
        until an operator rewrites it (pages in other languages say so)."""
        if (
            self.seed_key
            and self.description
            and shipped_descriptions().get(self.seed_key) == self.description
        ):
            return SHIPPED_LANGUAGE
        return None

    def speaks(self, locale: str | None) -> bool:
        if not locale:
            return False
        lang = locale.split("-")[0]
        return any(tag == locale or tag.split("-")[0] == lang for tag in self.languages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seed_key": self.seed_key,
            "name": self.name,
            "organisation": self.organisation,
            "description": self.description,
            "countries": list(self.countries),
            "languages": list(self.languages),
            "audiences": list(self.audiences),
            "phone": self.phone,
            "phone_note": self.phone_note,
            "url": self.url,
            "chat_url": self.chat_url,
            "email": self.email,
            "hours": self.hours,
            "sources": list(self.sources),
            "enabled": self.enabled,
            "priority": self.priority,
            "verified_on": self.verified_on.isoformat() if self.verified_on else None,
        }


def _to_service(row: HelpServiceRow) -> HelpService:
    return HelpService(
        id=row.id,
        seed_key=row.seed_key,
        name=row.name,
        organisation=row.organisation,
        description=row.description,
        countries=tuple(row.countries or ()),
        languages=tuple(row.languages or ()),
        audiences=tuple(row.audiences or ()),
        phone=row.phone,
        phone_note=row.phone_note,
        url=row.url,
        chat_url=row.chat_url,
        email=row.email,
        hours=row.hours,
        sources=tuple(row.sources or ()),
        enabled=row.enabled,
        priority=row.priority,
        verified_on=row.verified_on,
        updated_at=row.updated_at,
    )


@dataclass(frozen=True, slots=True)
class SeedReport:
    version: int
    added: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


def seed_entries() -> tuple[int, list[dict[str, Any]]]:
    """The shipped seed data (``data/help_services.toml``)."""
    text = resources.files("ohsc.prevention").joinpath("data", "help_services.toml").read_text("utf-8")
    doc = tomllib.loads(text)
    return int(doc["version"]), list(doc["service"])


#: the language the shipped descriptions are written in
SHIPPED_LANGUAGE = "en"


@functools.cache
def shipped_descriptions() -> dict[str, str]:
    """Seed key -> the shipped description."""
    return {str(e["key"]): str(e.get("description", "")) for e in seed_entries()[1]}


class HelpDirectory:
    """Read, search and edit the help directory. Every change is an audit event."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- reading -----------------------------------------------------------------------------

    def all(self, *, include_disabled: bool = False) -> list[HelpService]:
        with self.store.session() as s:
            q = select(HelpServiceRow).order_by(
                HelpServiceRow.priority, HelpServiceRow.name, HelpServiceRow.id
            )
            if not include_disabled:
                q = q.where(HelpServiceRow.enabled.is_(True))
            return [_to_service(r) for r in s.scalars(q)]

    def get(self, service_id: int) -> HelpService:
        with self.store.session() as s:
            row = s.get(HelpServiceRow, service_id)
            if row is None:
                raise HelpServiceNotFoundError(f"no help service {service_id}")
            return _to_service(row)

    def search(
        self,
        *,
        country: str | None = None,
        language: str | None = None,
        audience: str | None = None,
        query: str | None = None,
        include_disabled: bool = False,
    ) -> list[HelpService]:
        """Services for the public page: in the country (or international), in the language."""
        return search_services(
            self.all(include_disabled=include_disabled),
            country=country,
            language=language,
            audience=audience,
            query=query,
        )

    def countries(self) -> list[str]:
        """Countries with at least one enabled service (for the page's country picker)."""
        return sorted({c for svc in self.all() for c in svc.countries if c != "*"})

    def languages(self) -> list[str]:
        return sorted({lang for svc in self.all() for lang in svc.languages})

    # --- editing -----------------------------------------------------------------------------

    def add(self, actor: Actor, fields: Mapping[str, object]) -> HelpService:
        require(actor, ROLE_PREVENTION_ADMIN, action="edit the help directory")
        values = validate_fields(fields, partial=False)
        with self.store.session() as s:
            row = HelpServiceRow(**values)
            s.add(row)
            s.flush()
            audit.record(
                s,
                actor=actor.name,
                action="help_service.add",
                object_type="help_service",
                object_id=row.id,
                details={"fields": sorted(values)},
            )
            return _to_service(row)

    def update(self, actor: Actor, service_id: int, changes: Mapping[str, object]) -> HelpService:
        require(actor, ROLE_PREVENTION_ADMIN, action="edit the help directory")
        values = validate_fields(changes, partial=True)
        with self.store.session() as s:
            row = s.get(HelpServiceRow, service_id)
            if row is None:
                raise HelpServiceNotFoundError(f"no help service {service_id}")
            changed = sorted(k for k, v in values.items() if getattr(row, k) != v)
            for key in changed:
                setattr(row, key, values[key])
            if changed:
                s.flush()
                audit.record(
                    s,
                    actor=actor.name,
                    action="help_service.update",
                    object_type="help_service",
                    object_id=row.id,
                    details={"fields": changed},
                )
            return _to_service(row)

    def remove(self, actor: Actor, service_id: int) -> None:
        require(actor, ROLE_PREVENTION_ADMIN, action="edit the help directory")
        with self.store.session() as s:
            row = s.get(HelpServiceRow, service_id)
            if row is None:
                raise HelpServiceNotFoundError(f"no help service {service_id}")
            seed_key = row.seed_key
            s.delete(row)
            audit.record(
                s,
                actor=actor.name,
                action="help_service.remove",
                object_type="help_service",
                object_id=service_id,
                details={"seed_key": seed_key},
            )

    def seed(self, actor: Actor, *, only_new: bool = False) -> SeedReport:
        """Add shipped services that are missing from the directory; never overwrite an edit.

        ``only_new`` (used automatically at start-up) adds only services that are new since the
        last seed version applied to this store, so a service an admin removed stays removed.
        """
        require(actor, ROLE_PREVENTION_ADMIN, action="seed the help directory")
        version, entries = seed_entries()
        with self.store.session() as s:
            meta = s.get(MetaValue, SEED_META_KEY)
            applied = int(meta.value) if meta is not None else 0
            if only_new and applied >= version:
                return SeedReport(version=applied)
            present = set(
                s.scalars(select(HelpServiceRow.seed_key).where(HelpServiceRow.seed_key.is_not(None)))
            )
            added: list[str] = []
            kept: list[str] = []
            for entry in entries:
                key = str(entry["key"])
                since = int(entry.get("since", 1))
                if key in present or (only_new and since <= applied):
                    kept.append(key)
                    continue
                values = validate_fields(
                    {k: v for k, v in entry.items() if k not in {"key", "since"}}, partial=False
                )
                s.add(HelpServiceRow(seed_key=key, **values))
                added.append(key)
            if meta is None:
                s.add(MetaValue(key=SEED_META_KEY, value=str(version)))
            else:
                meta.value = str(max(applied, version))
            s.flush()
            audit.record(
                s,
                actor=actor.name,
                action="help_service.seed",
                object_type="help_directory",
                details={"version": version, "added": added},
            )
            return SeedReport(version=version, added=tuple(added), kept=tuple(kept))


def search_services(
    services: Sequence[HelpService],
    *,
    country: str | None = None,
    language: str | None = None,
    audience: str | None = None,
    query: str | None = None,
) -> list[HelpService]:
    """Filter and order services: the country's own first, then international ones."""
    cc = country.strip().upper() if country else None
    lang = normalise_locale(language)
    needle = (query or "").strip().casefold()
    out: list[tuple[tuple[int, int, str], HelpService]] = []
    for svc in services:
        if cc and cc not in svc.countries and not svc.international:
            continue
        if lang and not svc.speaks(lang):
            continue
        if audience and audience not in svc.audiences:
            continue
        if needle and not any(
            needle in part.casefold() for part in (svc.name, svc.organisation, svc.description)
        ):
            continue
        local = 0 if (cc and cc in svc.countries) else 1
        out.append(((local, svc.priority, svc.name.casefold()), svc))
    return [svc for _, svc in sorted(out, key=lambda pair: pair[0])]


def rank_resources(
    services: Sequence[HelpService], *, country: str | None, locale: str | None, audience: str, limit: int
) -> list[HelpService]:
    """Help to show with a deterrence message, best first.

    In the person's country and language; then international services in their language; then
    the country's services in other languages; then international services in English.
    """
    cc = country.upper() if country else None
    candidates = sorted(
        (svc for svc in services if svc.enabled and audience in svc.audiences),
        key=lambda svc: (svc.priority, svc.name.casefold()),
    )
    tiers: list[Callable[[HelpService], bool]] = [
        lambda svc: cc is not None and cc in svc.countries and svc.speaks(locale),
        lambda svc: svc.international and svc.speaks(locale),
        lambda svc: cc is not None and cc in svc.countries,
        lambda svc: svc.international and svc.speaks("en"),
    ]
    chosen: dict[int, HelpService] = {}
    for tier in tiers:
        for svc in candidates:
            if len(chosen) >= limit:
                return list(chosen.values())
            if svc.id not in chosen and tier(svc):
                chosen[svc.id] = svc
    return list(chosen.values())


@dataclass
class ResourceCache:
    """The enabled services in memory for the hot path of deterrence checks, refreshed every
    ``ttl_seconds`` (or at once after :meth:`invalidate`)."""

    directory: HelpDirectory
    ttl_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _services: tuple[HelpService, ...] = ()
    _by_id: dict[int, HelpService] = field(default_factory=dict)
    _loaded_at: float = float("-inf")
    _ranked: dict[tuple[str | None, str | None, str, int], tuple[HelpService, ...]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _fresh(self) -> None:
        now = self.clock()
        if now - self._loaded_at < self.ttl_seconds:
            return
        with self._lock:
            if now - self._loaded_at < self.ttl_seconds:
                return
            services = tuple(self.directory.all())
            self._services = services
            self._by_id = {svc.id: svc for svc in services}
            self._ranked = {}
            self._loaded_at = now

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    def get(self, service_id: int) -> HelpService | None:
        self._fresh()
        return self._by_id.get(service_id)

    def resources_for(
        self, *, country: str | None, locale: str | None, audience: str = "self", limit: int = 3
    ) -> tuple[HelpService, ...]:
        self._fresh()
        key = (country, locale, audience, limit)
        ranked = self._ranked.get(key)
        if ranked is None:
            ranked = tuple(
                rank_resources(self._services, country=country, locale=locale, audience=audience, limit=limit)
            )
            if len(self._ranked) < 10_000:
                self._ranked[key] = ranked
        return ranked
