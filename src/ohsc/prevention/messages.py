"""The localised, versioned message catalogue: deterrence messages and the strings of the pages.

Built-in catalogues live next to this module (``messages/<locale>.toml``); an operator directory
(``OHSC_DETER_MESSAGES_DIR``) may add locales or replace single messages and strings with files in
the same format. Each file carries a ``version``; every message handed out names its locale and
version, so a platform can tell exactly which wording a person saw.

Locales fall back from the most to the least specific and then to the default locale:
``pt-br`` → ``pt`` → ``en``. Message ids fall back too: a context message
(``deterrence.search``) falls back to ``deterrence.default`` in the same locale before another
locale is tried.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ohsc.errors import ConfigError

DEFAULT_MESSAGE = "deterrence.default"
MESSAGE_FIELDS = ("title", "body", "help", "action")
CONTEXTS = ("search", "username", "chat", "upload", "other")
_LOCALE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")


@lru_cache(maxsize=1024)
def normalise_locale(value: str | None) -> str | None:
    """``pt_BR`` and ``PT-br`` become ``pt-br``; anything that is not a language tag becomes None."""
    if not value or len(value) > 35:
        return None
    tag = value.strip().replace("_", "-").lower()
    if not _LOCALE.match(tag):
        return None
    return tag


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    locale: str
    version: int
    title: str
    body: str
    help: str
    action: str
    direction: str = "ltr"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "locale": self.locale,
            "version": self.version,
            "direction": self.direction,
            "title": self.title,
            "body": self.body,
            "help": self.help,
            "action": self.action,
        }


@dataclass(slots=True)
class _Locale:
    locale: str
    name: str
    direction: str
    version: int
    messages: dict[str, dict[str, str]]
    strings: dict[str, str]
    message_versions: dict[str, int]


def _parse(text: str, source: str) -> _Locale:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"message catalogue {source}: not valid TOML: {exc}") from None
    locale = normalise_locale(str(doc.get("locale", "")))
    if locale is None:
        raise ConfigError(
            f"message catalogue {source}: 'locale' must be a language tag such as 'de' or 'pt-br'"
        )
    version = doc.get("version")
    if not isinstance(version, int) or version < 1:
        raise ConfigError(f"message catalogue {source}: 'version' must be a positive whole number")
    direction = str(doc.get("direction", "ltr"))
    if direction not in {"ltr", "rtl"}:
        raise ConfigError(f"message catalogue {source}: 'direction' must be ltr or rtl")
    messages: dict[str, dict[str, str]] = {}
    for mid, fields in dict(doc.get("messages", {})).items():
        if not isinstance(fields, dict) or not all(isinstance(fields.get(f), str) for f in MESSAGE_FIELDS):
            raise ConfigError(
                f"message catalogue {source}: message {mid!r} needs the text fields {', '.join(MESSAGE_FIELDS)}"
            )
        messages[mid] = {f: str(fields[f]).strip() for f in MESSAGE_FIELDS}
    strings = doc.get("strings", {})
    if not isinstance(strings, dict) or not all(isinstance(v, str) for v in strings.values()):
        raise ConfigError(f"message catalogue {source}: 'strings' must map keys to text")
    return _Locale(
        locale=locale,
        name=str(doc.get("name", locale)),
        direction=direction,
        version=version,
        messages=messages,
        strings={str(k): str(v) for k, v in strings.items()},
        message_versions=dict.fromkeys(messages, version),
    )


def _builtin_files() -> list[tuple[str, str]]:
    folder = resources.files("ohsc.prevention").joinpath("messages")
    return sorted(
        (entry.name, entry.read_text("utf-8")) for entry in folder.iterdir() if entry.name.endswith(".toml")
    )


class MessageCatalogue:
    """Messages and page strings by locale, with fallbacks."""

    def __init__(self, extra_dir: Path | None = None, default_locale: str = "en") -> None:
        self._locales: dict[str, _Locale] = {}
        for name, text in _builtin_files():
            loc = _parse(text, name)
            self._locales[loc.locale] = loc
        if extra_dir is not None:
            if not extra_dir.is_dir():
                raise ConfigError(f"message catalogue directory {extra_dir} does not exist")
            for path in sorted(extra_dir.glob("*.toml")):
                self._merge(_parse(path.read_text("utf-8"), path.name))
        default = normalise_locale(default_locale)
        if default is None or default not in self._locales:
            raise ConfigError(f"default locale {default_locale!r} has no catalogue")
        if DEFAULT_MESSAGE not in self._locales[default].messages:
            raise ConfigError(f"the default locale {default} has no {DEFAULT_MESSAGE} message")
        self.default_locale = default
        self._chains: dict[str | None, tuple[str, ...]] = {}
        self._messages: dict[tuple[tuple[str, ...], str | None, str | None], Message] = {}

    def _merge(self, loc: _Locale) -> None:
        base = self._locales.get(loc.locale)
        if base is None:
            self._locales[loc.locale] = loc
            return
        base.messages.update(loc.messages)
        base.message_versions.update(loc.message_versions)
        base.strings.update(loc.strings)
        base.name, base.direction = loc.name, loc.direction
        base.version = max(base.version, loc.version)
        self._messages = {}

    @property
    def locales(self) -> dict[str, str]:
        """Locale tag -> the language's own name, for a language picker."""
        return {tag: loc.name for tag, loc in sorted(self._locales.items())}

    @property
    def version(self) -> str:
        """One string naming every locale's version (changes whenever any wording changes)."""
        return ",".join(f"{tag}:{loc.version}" for tag, loc in sorted(self._locales.items()))

    def chain(self, requested: str | None) -> tuple[str, ...]:
        """Locales to try for a request, most specific first, ending with the default."""
        tag = normalise_locale(requested)
        cached = self._chains.get(tag)
        if cached is not None:
            return cached
        out: list[str] = []
        if tag is not None:
            parts = tag.split("-")
            for i in range(len(parts), 0, -1):
                candidate = "-".join(parts[:i])
                if candidate in self._locales and candidate not in out:
                    out.append(candidate)
        if self.default_locale not in out:
            out.append(self.default_locale)
        result = tuple(out)
        if len(self._chains) < 10_000:
            self._chains[tag] = result
        return result

    def resolve(self, requested: str | None) -> str:
        """The catalogue locale that answers a request (one of :attr:`locales`)."""
        return self.chain(requested)[0]

    def negotiate(self, accept_language: str | None) -> str:
        """Pick a locale from an HTTP ``Accept-Language`` header (q-values honoured)."""
        if not accept_language:
            return self.default_locale
        ranked: list[tuple[float, int, str]] = []
        for i, part in enumerate(accept_language.split(",")[:20]):
            piece = part.strip()
            if not piece:
                continue
            tag, _, params = piece.partition(";")
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            ranked.append((-q, i, tag.strip()))
        for negq, _, tag in sorted(ranked):
            if negq >= 0:
                continue
            chain = self.chain(tag)
            if (
                chain[0] != self.default_locale
                or (normalise_locale(tag) or "").split("-")[0] == self.default_locale
            ):
                return chain[0]
        return self.default_locale

    def message(
        self, locale: str | None, message_id: str | None = None, context: str | None = None
    ) -> Message:
        """The message for a locale: ``message_id``, else the context message, else the default."""
        chain = self.chain(locale)
        key = (chain, message_id, context)
        cached = self._messages.get(key)
        if cached is not None:
            return cached
        found = self._find_message(chain, message_id, context)
        if len(self._messages) < 10_000:
            self._messages[key] = found
        return found

    def _find_message(self, chain: tuple[str, ...], message_id: str | None, context: str | None) -> Message:
        ids = [i for i in (message_id, f"deterrence.{context}" if context else None) if i] + [DEFAULT_MESSAGE]
        for tag in chain:
            loc = self._locales[tag]
            for mid in ids:
                fields = loc.messages.get(mid)
                if fields is not None:
                    return Message(
                        id=mid,
                        locale=tag,
                        version=loc.message_versions[mid],
                        direction=loc.direction,
                        **fields,
                    )
        raise ConfigError(f"no {DEFAULT_MESSAGE} message in any catalogue")  # pragma: no cover

    def string(self, key: str, locale: str | None) -> str:
        """A page string in the best locale that has it; the key itself if none has."""
        for tag in self.chain(locale):
            value = self._locales[tag].strings.get(key)
            if value is not None:
                return value
        return key

    def strings(self, locale: str | None, prefix: str = "") -> dict[str, str]:
        """Every page string (optionally those under ``prefix``) for a locale, with fallbacks."""
        out: dict[str, str] = {}
        for tag in reversed(self.chain(locale)):
            out.update({k: v for k, v in self._locales[tag].strings.items() if k.startswith(prefix)})
        return out

    def direction(self, locale: str | None) -> str:
        return self._locales[self.resolve(locale)].direction
