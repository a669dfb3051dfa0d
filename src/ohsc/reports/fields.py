"""One check per kind of report field: web addresses, IP addresses, ports, e-mails, times.

The report form, the CLI (``ohsc report draft/update``) and the API all save drafts through the
models of :mod:`ohsc.reports.draft`, whose fields use these checks, so a value is refused the same
way, with the same message, wherever it is typed. Messages say what is wrong and what is expected;
they quote at most the start of the value.

An incident or profile URL goes to the CyberTipline (and into packages) as typed, so it must be a
web address: ``http`` or ``https``, a host, no spaces. ``javascript:``, ``data:``, ``file:`` and
free text ("see the chat log") are refused.

Values read back from the store are not re-checked (``context={"stored": True}``): a draft saved
before a check existed still opens, and :func:`stored_problems` lists what it must fix before it
can be submitted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ValidationError,
    ValidationInfo,
)

#: NCMEC's and browsers' practical limit for a URL.
MAX_URL = 2083
#: RFC 5321: a forward path is at most 256 octets including the angle brackets.
MAX_EMAIL = 254
#: Nothing reported happened before this (the first web browsers); earlier times are typos.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
#: How far in the future a time may be (clock skew between machines).
FUTURE_SLACK = timedelta(minutes=10)

STORED = "stored"
T = TypeVar("T")

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")


def _shown(value: str, width: int = 40) -> str:
    """The start of a value, for a message."""
    text = value if len(value) <= width else value[: width - 1] + "…"
    return repr(text)


def _stored(info: ValidationInfo) -> bool:
    return bool(isinstance(info.context, dict) and info.context.get(STORED))


def _unless_stored(check: Callable[[T], T]) -> Callable[[T, ValidationInfo], T]:
    """``check`` as a pydantic validator that lets stored values through (see the module doc)."""

    def validate(value: T, info: ValidationInfo) -> T:
        return value if _stored(info) else check(value)

    return validate


def _hostname_ok(host: str) -> bool:
    if host.startswith("[") or ":" in host:
        return True  # an IPv6 literal: urlsplit checked its brackets
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return all(_LABEL.match(label) for label in labels)


def http_url(value: str) -> str:
    """A web address: ``http(s)://host/...``, no spaces, at most :data:`MAX_URL` characters."""
    value = value.strip()
    if not value:
        raise ValueError("empty: give a web address such as https://example.org/page")
    if len(value) > MAX_URL:
        raise ValueError(f"longer than {MAX_URL} characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{_shown(value)} is not a valid web address") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        if scheme and parts.netloc == "" and scheme not in ("ftp", "ftps"):
            raise ValueError(
                f"{_shown(value)} is not a web address: only http:// and https:// addresses are "
                f"reported ({scheme}: is refused)"
            )
        raise ValueError(
            f"{_shown(value)} is not a web address: give the full address, starting with https:// or http://"
        )
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(
            f"{_shown(value)} contains spaces or control characters: give one web address per line"
        )
    if not host or not _hostname_ok(host):
        raise ValueError(f"{_shown(value)} has no valid host name")
    return value


def ip_address(value: str) -> str:
    """An IPv4 or IPv6 address, written the standard way (``2001:db8::1``)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{_shown(value)} is not an IPv4 or IPv6 address (such as 198.51.100.7)") from None


def port(value: Any) -> int:
    """A TCP/UDP port, 1 to 65535 (ASCII digits only)."""
    if isinstance(value, bool):
        raise ValueError("a port is a whole number from 1 to 65535")
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 6:
            raise ValueError(f"{_shown(value)} is not a port: a whole number from 1 to 65535")
        value = int(text)
    if not isinstance(value, int):
        raise ValueError("a port is a whole number from 1 to 65535")
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a port: a whole number from 1 to 65535")
    return value


def email(value: str) -> str:
    """An e-mail address: ``local@domain.tld``, no spaces, at most :data:`MAX_EMAIL` characters."""
    value = value.strip()
    problem = f"{_shown(value)} is not an e-mail address (such as someone@example.org)"
    if len(value) > MAX_EMAIL or value.count("@") != 1:
        raise ValueError(problem)
    local, domain = value.split("@")
    if not local or len(local) > 64 or not _LOCAL.match(local) or ".." in local:
        raise ValueError(problem)
    if local.startswith(".") or local.endswith("."):
        raise ValueError(problem)
    if "." not in domain.strip(".") or not _hostname_ok(domain) or domain.endswith("."):
        raise ValueError(problem)
    return value


def moment(value: datetime) -> datetime:
    """A time with its time zone, not before 1990 and not in the future."""
    if value < EARLIEST:
        raise ValueError(f"{value:%Y-%m-%d} is before {EARLIEST:%Y}: check the year")
    if value > datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError(f"{value.isoformat(timespec='minutes')} is in the future")
    return value


HttpUrl = Annotated[str, AfterValidator(_unless_stored(http_url))]
IpAddress = Annotated[str, AfterValidator(_unless_stored(ip_address))]
Email = Annotated[str, AfterValidator(_unless_stored(email))]
Port = Annotated[int, BeforeValidator(port)]
When = Annotated[AwareDatetime, AfterValidator(_unless_stored(moment))]

#: Friendlier words for pydantic's own error types (the rest keep pydantic's message).
_MESSAGES = {
    "timezone_aware": "give the time with its time zone, such as 2026-03-01T10:00:00Z",
    "datetime_from_date_parsing": "not a date and time: use 2026-03-01T10:00:00Z",
    "datetime_parsing": "not a date and time: use 2026-03-01T10:00:00Z",
    "datetime_type": "not a date and time: use 2026-03-01T10:00:00Z",
    "int_parsing": "not a whole number",
    "bool_parsing": "give true or false",
    "string_too_long": "too long",
    "extra_forbidden": "unknown field",
}


def message(error: Any) -> str:
    """The message for one pydantic error (``ValidationError.errors()`` item)."""
    kind = str(error.get("type", ""))
    text = str(error.get("msg", ""))
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return f"too long: at most {limit} characters" if limit else _MESSAGES[kind]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if text.startswith("Value error, "):
        return text[len("Value error, ") :]
    return text


def stored_problems(model: type[BaseModel], data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Fields of stored ``data`` that today's checks refuse (saved before a check existed)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return {prefix + ".".join(str(p) for p in e["loc"]): message(e) for e in exc.errors()}
    return {}
