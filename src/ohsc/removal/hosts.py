"""Who hosts a URL: host -> address -> network, country and abuse contact, through RDAP.

The RDAP answer is fetched through the egress guard (``GET OHSC_RDAP_URL/ip/<address>``,
redirects followed: the default is ARIN's bootstrap service, which redirects to the registry
holding the address) and read with the ``ipwhois`` library's RDAP parsers (network, CIDR,
country, entities with their roles and vCards). Answers are cached in ``removal_hosts`` for
``OHSC_RDAP_CACHE_HOURS``. An operator's contact (``ohsc takedown contact add HOST EMAIL``) wins
over RDAP.

The abuse contact is the e-mail of the entity with the ``abuse`` role; the upstream contact (for
escalation) is that of the network's registrant or NOC, when it differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin

import httpx
from sqlalchemy import select

from ohsc import audit
from ohsc.errors import EgressRefusedError, EgressResolveError, InvalidInputError, NotFoundError
from ohsc.net import EgressGuard, guarded_client
from ohsc.net.addresses import HostError, parse_host
from ohsc.removal.models import RemovalContactRow, RemovalHostRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow

_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
UPSTREAM_ROLES = ("registrant", "noc", "technical", "administrative")


def check_email(value: str) -> str:
    email = value.strip()
    if not _EMAIL.match(email):
        raise InvalidInputError(f"{value!r} is not an e-mail address")
    return email


def check_host(value: str) -> str:
    try:
        host = parse_host(value)
    except HostError as exc:
        raise InvalidInputError(str(exc)) from None
    return str(host)


@dataclass(frozen=True, slots=True)
class HostInfo:
    host: str
    address: str | None
    network: str | None
    cidr: str | None
    country: str | None
    contact: str | None
    upstream_contact: str | None
    language: str
    #: "operator" (an override), "rdap", or None when nobody is known
    contact_source: str | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def parse_rdap(response: dict[str, Any]) -> dict[str, Any]:
    """Network name, CIDR, country and the abuse and upstream e-mails of an RDAP IP answer."""
    from ipwhois.rdap import _RDAPEntity, _RDAPNetwork  # the library's parsers of RDAP JSON

    network = _RDAPNetwork(response)
    network.parse()
    abuse: str | None = None
    upstream: str | None = None
    pending = list(response.get("entities") or [])
    while pending:
        raw = pending.pop(0)
        if not isinstance(raw, dict):
            continue
        pending.extend(raw.get("entities") or [])
        entity = _RDAPEntity(raw)
        try:
            entity.parse()
        except Exception:  # noqa: S112 - one malformed entity does not spoil the answer
            continue
        contact = entity.vars.get("contact") or {}
        emails = [e.get("value") for e in contact.get("email") or [] if e.get("value")]
        roles = set(entity.vars.get("roles") or raw.get("roles") or [])
        if not emails:
            continue
        if "abuse" in roles and abuse is None:
            abuse = emails[0]
        elif roles & set(UPSTREAM_ROLES) and upstream is None:
            upstream = emails[0]
    v = network.vars
    country = (v.get("country") or "").upper()[:8] or None
    return {
        "network": (v.get("name") or v.get("handle") or None),
        "cidr": v.get("cidr"),
        "country": country,
        "abuse_email": abuse,
        "upstream_email": upstream if upstream != abuse else None,
    }


class HostDirectory:
    def __init__(self, store: Store, settings: Settings, *, actor: str = "system") -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.guard = EgressGuard.from_settings(settings, allow_internal=settings.crawl_allow_private_targets)

    # --- operators' contacts -----------------------------------------------------------------

    def add_contact(self, host: str, email: str, *, language: str = "en") -> None:
        host, email, language = check_host(host), check_email(email), language.strip().lower()
        if not _LANG.match(language):
            raise InvalidInputError("language is a tag like en, de or pt-br")
        with self.store.session() as s:
            row = s.get(RemovalContactRow, host)
            if row is None:
                s.add(RemovalContactRow(host=host, email=email, language=language, added_by=self.actor))
            else:
                row.email, row.language, row.added_by, row.added_at = email, language, self.actor, utcnow()
            audit.record(
                s,
                actor=self.actor,
                action="removal.contact.set",
                object_type="removal_contact",
                object_id=host,
                details={"email": email, "language": language},
            )

    def remove_contact(self, host: str) -> None:
        host = check_host(host)
        with self.store.session() as s:
            row = s.get(RemovalContactRow, host)
            if row is None:
                raise NotFoundError(f"no contact for {host}")
            s.delete(row)
            audit.record(
                s,
                actor=self.actor,
                action="removal.contact.remove",
                object_type="removal_contact",
                object_id=host,
            )

    def contacts(self) -> list[dict[str, Any]]:
        with self.store.session() as s:
            return [
                {"host": r.host, "email": r.email, "language": r.language, "added_by": r.added_by}
                for r in s.scalars(select(RemovalContactRow).order_by(RemovalContactRow.host))
            ]

    # --- look-ups ----------------------------------------------------------------------------

    def lookup(self, host: str, *, refresh: bool = False) -> HostInfo:
        """Who hosts ``host``: the operator's contact, else RDAP's (cached)."""
        host = check_host(host)
        cached = self._rdap(host, refresh=refresh)
        with self.store.session() as s:
            override = s.get(RemovalContactRow, host)
            contact: str | None
            source: str | None
            if override is not None:
                contact, language, source = override.email, override.language, "operator"
            else:
                contact, language = cached.abuse_email, "en"
                source = "rdap" if contact else None
            return HostInfo(
                host=host,
                address=cached.address,
                network=cached.network,
                cidr=cached.cidr,
                country=cached.country,
                contact=contact,
                upstream_contact=cached.upstream_email,
                language=language,
                contact_source=source,
                error=cached.error,
            )

    def _rdap(self, host: str, *, refresh: bool) -> RemovalHostRow:
        now = utcnow()
        with self.store.session() as s:
            row = s.get(RemovalHostRow, host)
            fresh = row is not None and now - row.looked_up_at < timedelta(
                hours=self.settings.rdap_cache_hours
            )
            if row is not None and fresh and not refresh:
                s.expunge(row)
                return row
        values = self._query(host)
        with self.store.session() as s:
            row = s.get(RemovalHostRow, host)
            if row is None:
                row = RemovalHostRow(host=host)
                s.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.looked_up_at = now
            s.flush()
            s.expunge(row)
            return row

    def _query(self, host: str) -> dict[str, Any]:
        try:
            address = str(self.guard.resolve(f"http://{host}/").address)
        except (EgressRefusedError, EgressResolveError) as exc:
            return {"address": None, "error": exc.message[:300]}
        url = f"{self.settings.rdap_url.rstrip('/')}/ip/{address}"
        try:
            with guarded_client(
                self.guard, follow_redirects=False, timeout=self.settings.crawl_timeout_seconds
            ) as c:
                for _hop in range(4):
                    r = c.get(url, headers={"Accept": "application/rdap+json, application/json"})
                    if r.is_redirect and r.headers.get("location"):
                        url = urljoin(url, r.headers["location"])
                        continue
                    break
            if r.status_code != 200:
                return {"address": address, "error": f"RDAP answered HTTP {r.status_code}"}
            answer = r.json()
            parsed = parse_rdap(answer)
        except (httpx.HTTPError, ValueError, EgressRefusedError, EgressResolveError) as exc:
            return {"address": address, "error": f"RDAP failed: {type(exc).__name__}"}
        return {"address": address, "error": None, "raw": answer, **parsed}
