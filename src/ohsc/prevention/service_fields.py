"""The fields of a help-directory service as one pydantic model: what an admin may set, how each
is checked and normalised. The library, the CLI and the admin pages all validate through it.
Messages name the field at fault and never echo long values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ohsc.errors import InvalidInputError
from ohsc.prevention.messages import normalise_locale

#: Who a service is for. Storage keys: never rename.
AUDIENCES = ("self", "parents", "survivors", "professionals")

_TEXT_LIMITS = {
    "name": 200,
    "organisation": 200,
    "description": 2000,
    "phone": 60,
    "phone_note": 300,
    "url": 500,
    "chat_url": 500,
    "email": 200,
    "hours": 300,
}
_PHONE = re.compile(r"^[0-9A-Z+()./ \-]*$")
_URL = re.compile(r"^https?://[A-Za-z0-9.\-]+(?::[0-9]+)?(?:[/?#][^\s<>\"']*)?$")
_EMAIL = re.compile(r"^[^@\s<>\"']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REQUIRED = ("name", "countries", "languages", "audiences")


def _string_list(value: object, what: str) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, Iterable):
        items = [str(v).strip() for v in value]
    else:
        raise ValueError(f"{what} must be a list")
    return [v for v in items if v]


class ServiceFields(BaseModel):
    """Every field an admin may set; a field left out is not changed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    organisation: str | None = None
    description: str | None = None
    countries: list[str] | None = None
    languages: list[str] | None = None
    audiences: list[str] | None = None
    phone: str | None = None
    phone_note: str | None = None
    url: str | None = None
    chat_url: str | None = None
    email: str | None = None
    hours: str | None = None
    sources: list[str] | None = None
    enabled: bool | None = None
    priority: int | None = None
    verified_on: date | None = None

    @field_validator(*_TEXT_LIMITS, mode="before")
    @classmethod
    def _text(cls, value: object, info: Any) -> str:
        key: str = info.field_name
        text = "" if value is None else str(value).strip()
        if len(text) > _TEXT_LIMITS[key]:
            raise ValueError(f"{key} is longer than {_TEXT_LIMITS[key]} characters")
        if key != "description" and any(ch in text for ch in "\r\n\t"):
            raise ValueError(f"{key} must be on one line")
        if key == "phone" and not _PHONE.match(text.upper()):
            raise ValueError("phone may hold digits, letters, spaces and + ( ) . / -")
        if key in {"url", "chat_url"} and text and not _URL.match(text):
            raise ValueError(f"{key} must be an http:// or https:// address")
        if key == "email" and text and not _EMAIL.match(text):
            raise ValueError("email is not an e-mail address")
        return text

    @field_validator("countries", mode="before")
    @classmethod
    def _countries(cls, value: object) -> list[str]:
        countries = [c.upper() for c in _string_list(value, "countries")]
        if any(c != "*" and not _COUNTRY.match(c) for c in countries):
            raise ValueError("countries are ISO 3166 two-letter codes (GB, DE) or * for everywhere")
        return sorted(set(countries))

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: object) -> list[str]:
        langs = []
        for raw in _string_list(value, "languages"):
            tag = normalise_locale(raw)
            if tag is None:
                raise ValueError("languages are language tags such as en, de or pt-br")
            langs.append(tag)
        return sorted(set(langs))

    @field_validator("audiences", mode="before")
    @classmethod
    def _audiences(cls, value: object) -> list[str]:
        auds = _string_list(value, "audiences")
        if any(a not in AUDIENCES for a in auds):
            raise ValueError(f"audiences are {', '.join(AUDIENCES)}")
        return [a for a in AUDIENCES if a in auds]

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, value: object) -> list[str]:
        srcs = _string_list(value, "sources")
        if any(not _URL.match(s) for s in srcs):
            raise ValueError("sources are http:// or https:// addresses")
        return srcs

    @field_validator("enabled", mode="before")
    @classmethod
    def _enabled(cls, value: object) -> bool:
        if not isinstance(value, bool):
            raise ValueError("enabled must be true or false")
        return value

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1000:
            raise ValueError("priority must be a whole number from 0 to 1000")
        return value

    @field_validator("verified_on", mode="before")
    @classmethod
    def _verified_on(cls, value: object) -> date | None:
        if value is None or value == "":
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError("verified_on must be a date (YYYY-MM-DD)") from None


#: the fields an admin may set, in the order forms show them
EDITABLE = tuple(ServiceFields.model_fields)


def validate_fields(data: Mapping[str, object], *, partial: bool) -> dict[str, Any]:
    """Check and normalise service fields (only those given); :class:`InvalidInputError` names
    the first field at fault in the order given."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise InvalidInputError(f"unknown field(s): {', '.join(unknown)}")
    try:
        model = ServiceFields.model_validate(dict(data))
    except ValidationError as exc:
        order = {key: i for i, key in enumerate(data)}
        first = min(exc.errors(), key=lambda err: order.get(str(err["loc"][0]), len(order)))
        cause = first.get("ctx", {}).get("error")
        raise InvalidInputError(str(cause) if cause else f"{first['loc'][0]}: {first['msg']}") from None
    out = model.model_dump(include=set(data))
    for required in _REQUIRED:
        if not partial and not out.get(required):
            raise InvalidInputError(f"{required} is required")
        if partial and required in out and not out[required]:
            raise InvalidInputError(f"{required} cannot be empty")
    return out
