"""The deterrence check: does a text (search query, user name, chat line) match an operator's
term list? If so, a localised, non-shaming message and confidential help nearby.

``DeterrenceService.check`` is the one call behind ``POST /v1/deterrence/check`` and
``ohsc deter check``. The checked text is held only for the duration of the call: it is never
stored, logged, counted or put into an error message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ohsc.errors import HelpServiceNotFoundError, InvalidInputError
from ohsc.prevention.counters import CounterBuffer
from ohsc.prevention.directory import HelpDirectory, HelpService, ResourceCache
from ohsc.prevention.matcher import Hit
from ohsc.prevention.messages import CONTEXTS, Message, MessageCatalogue
from ohsc.prevention.registry import TermListRegistry
from ohsc.settings import Settings
from ohsc.store.db import Store

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


class ResourceSource(Protocol):
    def resources_for(
        self, *, country: str | None, locale: str | None, audience: str = "self", limit: int = 3
    ) -> Sequence[HelpService]: ...

    def get(self, service_id: int) -> HelpService | None: ...


class NoResources:
    """A resource source with no services (checks without a store)."""

    def resources_for(
        self, *, country: str | None, locale: str | None, audience: str = "self", limit: int = 3
    ) -> Sequence[HelpService]:
        return ()

    def get(self, service_id: int) -> HelpService | None:
        return None


@dataclass(frozen=True, slots=True)
class Resource:
    """A help service as shown with a message."""

    id: int
    name: str
    organisation: str
    description: str
    phone: str
    tel: str
    phone_note: str
    url: str
    chat_url: str
    email: str
    hours: str
    languages: tuple[str, ...]
    countries: tuple[str, ...]
    #: Link through the click-counting redirect (empty when the service has no web address).
    click_url: str
    #: the description's language where known ("en" for shipped descriptions), else None
    description_language: str | None = None

    @classmethod
    def of(cls, svc: HelpService, click_path: str) -> Resource:
        target = svc.url or svc.chat_url
        return cls(
            id=svc.id,
            name=svc.name,
            organisation=svc.organisation,
            description=svc.description,
            phone=svc.phone,
            tel=svc.tel,
            phone_note=svc.phone_note,
            url=svc.url,
            chat_url=svc.chat_url,
            email=svc.email,
            hours=svc.hours,
            languages=svc.languages,
            countries=svc.countries,
            click_url=click_path.replace("{id}", str(svc.id)) if target else "",
            description_language=svc.description_language,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "organisation": self.organisation,
            "description": self.description,
            "phone": self.phone,
            "tel": self.tel,
            "phone_note": self.phone_note,
            "url": self.url,
            "chat_url": self.chat_url,
            "email": self.email,
            "hours": self.hours,
            "languages": list(self.languages),
            "countries": list(self.countries),
            "click_url": self.click_url,
            "description_language": self.description_language,
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    triggered: bool
    #: The term list that matched first (lists are ordered by file name); None if none did.
    list: str | None
    #: Every list that matched.
    lists: tuple[str, ...]
    message: Message | None
    resources: tuple[Resource, ...]
    #: The catalogue locale the answer is in.
    locale: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "triggered": self.triggered,
            "list": self.list,
            "lists": list(self.lists),
            "message": self.message.to_dict() if self.message else None,
            "resources": [r.to_dict() for r in self.resources],
            "locale": self.locale,
        }


class DeterrenceService:
    """Checks texts against the term lists in force; counts aggregates only."""

    def __init__(
        self,
        registry: TermListRegistry,
        catalogue: MessageCatalogue,
        resources: ResourceSource | None = None,
        counters: CounterBuffer | None = None,
        *,
        max_chars: int = 2000,
        max_resources: int = 3,
        click_path: str = "/v1/deterrence/go/{id}",
    ) -> None:
        self.registry = registry
        self.catalogue = catalogue
        self.resources: ResourceSource = resources or NoResources()
        self.counters = counters
        self.max_chars = max_chars
        self.max_resources = max_resources
        self.click_path = click_path
        self._negative: dict[str, CheckResult] = {}  # one immutable answer per catalogue locale

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store | None,
        *,
        terms: Sequence[Path] = (),
        count: bool = True,
    ) -> DeterrenceService:
        """The service as configured: lists from ``OHSC_DETER_LISTS_DIR`` (or ``terms``), help
        services from the store, counters written to the store (unless ``count`` is false)."""
        registry = (
            TermListRegistry(files=terms, check_seconds=settings.deter_reload_seconds)
            if terms
            else TermListRegistry(directory=lists_dir(settings), check_seconds=settings.deter_reload_seconds)
        )
        catalogue = MessageCatalogue(settings.deter_messages_dir, settings.deter_default_locale)
        resources = ResourceCache(HelpDirectory(store)) if store is not None else None
        counters = (
            CounterBuffer(store, flush_seconds=settings.deter_counter_flush_seconds)
            if (store is not None and count)
            else None
        )
        return cls(
            registry,
            catalogue,
            resources,
            counters,
            max_chars=settings.deter_max_chars,
            max_resources=settings.deter_max_resources,
            click_path=settings.deter_click_path,
        )

    # --- the check ---------------------------------------------------------------------------

    def _validate(
        self, text: object, country: str | None, context: str | None
    ) -> tuple[str, str | None, str | None]:
        if not isinstance(text, str):
            raise InvalidInputError("text must be a string")
        if len(text) > self.max_chars:
            raise InvalidInputError(f"text is longer than {self.max_chars} characters (OHSC_DETER_MAX_CHARS)")
        cc = country.strip().upper() if country and _COUNTRY.match(country.strip()) else None
        ctx = context.strip().lower() if context else None
        if ctx is not None and ctx not in CONTEXTS:
            raise InvalidInputError(f"context must be one of {', '.join(CONTEXTS)}")
        return text, cc, ctx

    def hits(self, text: str) -> list[Hit]:
        """Every (list, entry) that matches; for the operator's own tools."""
        return self.registry.compiled().match(text)

    def check(
        self, text: str, *, locale: str | None = None, country: str | None = None, context: str | None = None
    ) -> CheckResult:
        text, cc, ctx = self._validate(text, country, context)
        compiled = self.registry.compiled()
        hits = compiled.match(text) if text else []
        if not hits:
            resolved = self.catalogue.resolve(locale)
            if self.counters is not None:
                self.counters.add("checks", locale=resolved)
            negative = self._negative.get(resolved)
            if negative is None:
                negative = self._negative[resolved] = CheckResult(False, None, (), None, (), resolved)
            return negative
        first = hits[0]
        term_list = compiled.by_name[first.list_name]
        wanted = locale or (term_list.language if term_list.language != "und" else None)
        message = self.catalogue.message(wanted, term_list.message, ctx)
        services = self.resources.resources_for(
            country=cc, locale=message.locale, audience="self", limit=self.max_resources
        )
        if self.counters is not None:
            self.counters.add("checks", locale=message.locale)
            self.counters.add("triggers", list_name=first.list_name, locale=message.locale)
        lists = (first.list_name,) if len(hits) == 1 else tuple(dict.fromkeys(h.list_name for h in hits))
        return CheckResult(
            triggered=True,
            list=first.list_name,
            lists=lists,
            message=message,
            resources=tuple(Resource.of(svc, self.click_path) for svc in services),
            locale=message.locale,
        )

    # --- measurement -------------------------------------------------------------------------

    def click(self, service_id: int, *, locale: str | None = None) -> str:
        """Count a click on a help service and return where to send the person."""
        svc = self.resources.get(service_id)
        target = (svc.url or svc.chat_url) if svc is not None else ""
        if svc is None or not target:
            raise HelpServiceNotFoundError(f"no help service {service_id} with a web address")
        if self.counters is not None:
            self.counters.add("clicks", resource_id=svc.id, locale=self.catalogue.resolve(locale))
        return target

    def view(self, kind: str, *, locale: str | None = None) -> None:
        """Count a view of the interstitial page or widget (``kind`` becomes the list column)."""
        if kind not in {"interstitial", "widget", "directory"}:
            raise InvalidInputError("kind must be interstitial, widget or directory")
        if self.counters is not None:
            self.counters.add("views", list_name=kind, locale=self.catalogue.resolve(locale))

    def flush(self) -> int:
        return self.counters.flush() if self.counters is not None else 0


def lists_dir(settings: Settings) -> Path:
    return settings.deter_lists_dir or settings.home / "deterrence" / "lists"
