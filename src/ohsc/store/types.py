"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import PlainSerializer
from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: JSON on SQLite, JSONB on PostgreSQL.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes everywhere (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


#: A time in a pydantic model shared by the library and the API: a datetime in Python, written as
#: ``datetime.isoformat()`` in JSON (``+00:00``, as the API has always answered; pydantic would
#: write ``Z``) and a plain string in the OpenAPI document.
IsoTime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_when(text: str | None, what: str) -> datetime | None:
    """An ISO date or date-time typed by a person (blank: None); without a time zone it is UTC."""
    from ohsc.errors import InvalidInputError

    if text is None:
        return None
    if not isinstance(text, str):  # from a JSON file
        raise InvalidInputError(f"{what}: expected an ISO date or date-time, not {type(text).__name__}")
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"{what}: {text!r} is not an ISO date (YYYY-MM-DD) or date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: the longest number :func:`ascii_int` reads (ids and counters fit in 64 bits)
MAX_INT_DIGITS = 18


def ascii_int(text: str | None) -> int | None:
    """A non-negative whole number sent or typed as ASCII digits (``"42"``), else None.

    ``str.isdigit`` is true for ``²``, Arabic-Indic or full-width digits, which ``int`` then
    refuses or reads as another number; ids, versions and counters from a request, a form or a
    file are read with this instead.
    """
    if not text or len(text) > MAX_INT_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
