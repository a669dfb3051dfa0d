"""The egress guard: which outside addresses OHSC itself may connect to.

Every outgoing HTTP request a server makes on someone else's say-so (webhooks, URL fetching,
later crawlers and exchange clients) goes through one :class:`EgressGuard`:

* the URL is ``http``/``https`` without credentials, and its host is read as a connection would
  read it (:func:`ohsc.net.addresses.parse_host`: encoded addresses are addresses);
* the name is resolved **once**, every address it resolves to is checked, and the connection goes
  to the checked address (:class:`ohsc.net.transport.GuardedTransport`), so a second DNS answer
  cannot swap in an internal one (DNS rebinding);
* internal addresses (loopback, private, link-local and cloud metadata, carrier-grade NAT,
  multicast, reserved, IPv6 unique-local and link-local, and IPv4 addresses carried in IPv6) and
  ``localhost`` names are refused unless ``OHSC_EGRESS_ALLOW`` lists the address range or the
  host name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ohsc.errors import ConfigError, EgressRefusedError, EgressResolveError, InvalidInputError
from ohsc.net.addresses import HostError, IPAddress, IPNetwork, in_networks, internal_reason, parse_host
from ohsc.settings import Settings

#: (host name, port) -> the addresses it resolves to, as strings.
Resolver = Callable[[str, int], list[str]]

LOOPBACK_NAMES = ("localhost",)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (``getaddrinfo``), in the order given."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise EgressResolveError(f"cannot resolve {host}: {reason}") from None
    seen: dict[str, None] = {}
    for info in infos:
        seen[str(info[4][0])] = None
    return list(seen)


def parse_allow_list(value: str) -> tuple[tuple[IPNetwork, ...], tuple[str, ...]]:
    """``OHSC_EGRESS_ALLOW``: comma-separated CIDR ranges or addresses, and host names.

    A name ``hooks.corp.example`` allows that name; ``.corp.example`` allows it and every name
    under it. Raises :class:`ValueError` naming a bad entry.
    """
    networks: list[IPNetwork] = []
    hosts: list[str] = []
    for raw in value.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            if "/" in entry or entry.replace(".", "").isdigit() or ":" in entry:
                raise ValueError(f"{raw.strip()!r} is not an address range (CIDR) or host name") from None
        suffix = entry.startswith(".")
        try:
            name = parse_host(entry[1:] if suffix else entry)
        except HostError:
            raise ValueError(f"{raw.strip()!r} is not an address range (CIDR) or host name") from None
        if not isinstance(name, str):
            networks.append(ipaddress.ip_network(name))
            continue
        hosts.append("." + name if suffix else name)
    return tuple(networks), tuple(hosts)


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (``address``) and the name to present (Host, SNI)."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress

    @property
    def literal(self) -> bool:
        """Whether the URL named an address rather than a host name."""
        return self.host == str(self.address)


@dataclass(frozen=True)
class EgressGuard:
    """Checks outgoing URLs against the egress policy; see the module documentation."""

    allow_networks: tuple[IPNetwork, ...] = ()
    allow_hosts: tuple[str, ...] = ()
    #: allow every internal address (the deprecated ``OHSC_FETCH_ALLOW_PRIVATE``)
    allow_internal: bool = False
    resolver: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, resolver: Resolver | None = None, allow_internal: bool = False
    ) -> EgressGuard:
        try:
            networks, hosts = parse_allow_list(settings.egress_allow)
        except ValueError as exc:
            raise ConfigError(f"OHSC_EGRESS_ALLOW: {exc}") from None
        return cls(networks, hosts, allow_internal, resolver or system_resolver)

    # --- checks --------------------------------------------------------------------------------

    def host_allowed(self, host: str) -> bool:
        """Whether ``OHSC_EGRESS_ALLOW`` names this host (exactly, or by a ``.suffix`` entry)."""
        for entry in self.allow_hosts:
            if entry.startswith(".") and (host.endswith(entry) or host == entry[1:]):
                return True
            if host == entry:
                return True
        return False

    def refusal(self, address: IPAddress) -> str | None:
        """Why connecting to ``address`` is refused, or None when it is allowed."""
        if self.allow_internal or in_networks(address, self.allow_networks):
            return None
        return internal_reason(address)

    def _parse(self, url: str) -> tuple[str, str | IPAddress, int]:
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise InvalidInputError("the URL cannot be parsed (bad host or port)") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInputError("the URL must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise InvalidInputError("put no credentials in the URL")
        try:
            host = parse_host(parts.hostname)
        except HostError as exc:
            raise InvalidInputError(f"the URL's host is not valid: {exc}") from None
        return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)

    def check(self, url: str) -> str | IPAddress:
        """Check what can be checked without resolving: the form, addresses, ``localhost`` names.

        Returns the host (an address or a normalised name). Raises :class:`EgressRefusedError`.
        """
        _scheme, host, _port = self._parse(url)
        if isinstance(host, str):
            if self.host_allowed(host) or self.allow_internal:
                return host
            loopback_name = host in LOOPBACK_NAMES or host.endswith(".localhost")
            if loopback_name and self.refusal(ipaddress.IPv4Address("127.0.0.1")) is not None:
                raise EgressRefusedError(
                    f"{host} is a loopback name: internal targets are refused "
                    "(an operator can allow them with OHSC_EGRESS_ALLOW)"
                )
            return host
        why = self.refusal(host)
        if why is not None:
            raise EgressRefusedError(
                f"{host} is a {why}: internal targets are refused "
                "(an operator can allow them with OHSC_EGRESS_ALLOW)"
            )
        return host

    def resolve(self, url: str) -> Target:
        """Check ``url``, resolve its host once and check every address; the address to connect to.

        Raises :class:`EgressRefusedError` (internal) or :class:`EgressResolveError`.
        """
        scheme, _host, port = self._parse(url)
        host = self.check(url)
        if not isinstance(host, str):
            return Target(url, scheme, str(host), port, host)
        answers = self.resolver(host, port)
        addresses = list(_addresses(answers, host))
        if not addresses:
            raise EgressResolveError(f"cannot resolve {host}: no addresses")
        if not self.host_allowed(host):
            for address in addresses:
                why = self.refusal(address)
                if why is not None:
                    raise EgressRefusedError(
                        f"{host} resolves to a {why}: internal targets are refused "
                        "(an operator can allow them with OHSC_EGRESS_ALLOW)"
                    )
        return Target(url, scheme, host, port, addresses[0])


def _addresses(answers: Iterable[str], host: str) -> Iterable[IPAddress]:
    for answer in answers:
        try:
            yield ipaddress.ip_address(answer.split("%", 1)[0])
        except ValueError:
            raise EgressResolveError(f"cannot resolve {host}: the answer is not an address") from None
