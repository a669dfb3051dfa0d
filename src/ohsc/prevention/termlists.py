"""Operator-supplied term lists: two file formats, read into :class:`TermList` values.

* **Plain** (``*.txt``): UTF-8 text, one term or phrase per line; ``#`` starts a comment (to the
  end of the line); blank lines are ignored. A line with one word is a term, with several words a
  phrase. The list's name is the file name without ``.txt``; when that name is a language code
  (``de.txt``, ``pt-br.txt``) it is also the list's language.
* **Rich** (``*.toml``): per language, with separate ``terms``, ``phrases``, ``patterns``
  (regular expressions over the normalised text) and ``exceptions`` (words or phrases that never
  trigger, e.g. a harmless word that a wildcard term would otherwise catch), plus ``name``,
  ``language``, ``description``, ``message`` (a message id in the catalogue), ``enabled`` and
  ``join_phrases``.

A term or phrase may start and/or end with ``*``: ``word*`` also matches words that begin with
*word*, ``*word`` words that end with it, ``*word*`` any word containing it. Without ``*`` only
whole words match. See ``docs/prevention.md`` for examples.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ohsc.errors import TermListError
from ohsc.prevention.normalise import term_forms

#: Words of at least this many letters (after normalisation) may be listed as whole words.
MIN_WORD_LETTERS = 2
#: A wildcard term must keep at least this many letters, or it would match too much.
MIN_WILDCARD_LETTERS = 4
MAX_PATTERN_LENGTH = 500
MAX_FILE_BYTES = 64 * 1024 * 1024
_LOCALE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_RICH_KEYS = frozenset(
    {
        "name",
        "language",
        "description",
        "message",
        "enabled",
        "join_phrases",
        "terms",
        "phrases",
        "patterns",
        "exceptions",
    }
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One listed term or phrase, as written (for operators) and in its matchable forms."""

    text: str
    forms: tuple[str, ...]
    prefix: bool = False  # ``*word``: may be preceded by letters
    suffix: bool = False  # ``word*``: may be followed by letters
    line: int | None = None

    @property
    def is_phrase(self) -> bool:
        return " " in self.forms[0]


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    regex: re.Pattern[str]
    index: int


@dataclass(frozen=True, slots=True)
class TermList:
    name: str
    language: str
    source: str
    entries: tuple[Entry, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    exceptions: tuple[Entry, ...] = ()
    description: str = ""
    message: str | None = None
    enabled: bool = True
    join_phrases: bool = True
    format: str = "plain"
    problems: tuple[str, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        phrases = sum(1 for e in self.entries if e.is_phrase)
        return {
            "terms": len(self.entries) - phrases,
            "phrases": phrases,
            "patterns": len(self.patterns),
            "exceptions": len(self.exceptions),
        }


def _where(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line is not None else source


def parse_entry(raw: str, *, source: str, line: int | None = None) -> Entry:
    """One term or phrase with optional ``*`` at either end; :class:`TermListError` if unusable."""
    text = raw.strip()
    prefix = text.startswith("*")
    suffix = text.endswith("*") and len(text) > 1
    core = text.strip("*").strip()
    if "*" in core:
        raise TermListError(f"{_where(source, line)}: '*' is only allowed at the start or end of a term")
    forms = tuple(term_forms(core))
    if not forms:
        raise TermListError(f"{_where(source, line)}: the term has no letters or digits after normalisation")
    letters = min(len(f.replace(" ", "")) for f in forms)
    least = MIN_WILDCARD_LETTERS if (prefix or suffix) else MIN_WORD_LETTERS
    if letters < least:
        raise TermListError(
            f"{_where(source, line)}: too short: a {'wildcard ' if prefix or suffix else ''}term needs "
            f"at least {least} letters after normalisation"
        )
    return Entry(text=text, forms=forms, prefix=prefix, suffix=suffix, line=line)


def _language_from_name(name: str) -> str:
    lowered = name.lower().replace("_", "-")
    return lowered if _LOCALE.match(lowered) else "und"


def _check_name(name: str, source: str) -> str:
    if not _NAME.match(name):
        raise TermListError(
            f"{source}: list name {name!r} must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TermListError(f"{path.name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TermListError(f"{path.name}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise TermListError(f"{path.name}: cannot read: {exc.strerror}") from None


def parse_plain(text: str, *, name: str, source: str) -> TermList:
    entries: list[Entry] = []
    seen: set[tuple[str, ...]] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        entry = parse_entry(line, source=source, line=number)
        key = (*entry.forms, str(entry.prefix), str(entry.suffix))
        if key not in seen:
            seen.add(key)
            entries.append(entry)
    return TermList(
        name=_check_name(name, source),
        language=_language_from_name(name),
        source=source,
        entries=tuple(entries),
        format="plain",
    )


def _strings(doc: dict[str, Any], key: str, source: str) -> list[str]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TermListError(f"{source}: '{key}' must be a list of strings")
    return value


def compile_pattern(text: str, *, source: str, index: int) -> Pattern:
    if len(text) > MAX_PATTERN_LENGTH:
        raise TermListError(f"{source}: pattern {index + 1} is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        regex = re.compile(text)
    except re.error as exc:
        raise TermListError(
            f"{source}: pattern {index + 1} is not a valid regular expression: {exc}"
        ) from None
    if regex.search(" ") is not None:
        raise TermListError(
            f"{source}: pattern {index + 1} matches an empty text; it would trigger on everything"
        )
    return Pattern(text=text, regex=regex, index=index)


def parse_rich(text: str, *, name: str, source: str) -> TermList:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TermListError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - _RICH_KEYS)
    if unknown:
        raise TermListError(f"{source}: unknown key(s) {', '.join(unknown)}")
    list_name = _check_name(str(doc.get("name", name)), source)
    language = str(doc.get("language", _language_from_name(list_name))).lower().replace("_", "-")
    if language != "und" and not _LOCALE.match(language):
        raise TermListError(f"{source}: language {language!r} is not a language code such as 'de' or 'pt-br'")
    for flag in ("enabled", "join_phrases"):
        if flag in doc and not isinstance(doc[flag], bool):
            raise TermListError(f"{source}: '{flag}' must be true or false")
    entries: list[Entry] = []
    for key in ("terms", "phrases"):
        for i, raw in enumerate(_strings(doc, key, source)):
            entry = parse_entry(raw, source=f"{source} {key}[{i}]")
            if key == "terms" and entry.is_phrase:
                raise TermListError(f"{source} terms[{i}]: has several words; list it under 'phrases'")
            entries.append(entry)
    exceptions = [
        parse_entry(raw, source=f"{source} exceptions[{i}]")
        for i, raw in enumerate(_strings(doc, "exceptions", source))
    ]
    patterns = [
        compile_pattern(raw, source=source, index=i)
        for i, raw in enumerate(_strings(doc, "patterns", source))
    ]
    message = doc.get("message")
    if message is not None and not isinstance(message, str):
        raise TermListError(f"{source}: 'message' must be a message id string")
    return TermList(
        name=list_name,
        language=language,
        source=source,
        entries=tuple(entries),
        patterns=tuple(patterns),
        exceptions=tuple(exceptions),
        description=str(doc.get("description", "")),
        message=message,
        enabled=bool(doc.get("enabled", True)),
        join_phrases=bool(doc.get("join_phrases", True)),
        format="rich",
    )


def is_list_file(path: Path) -> bool:
    return (
        path.is_file()
        and path.suffix in {".txt", ".toml"}
        and not path.name.startswith((".", "_"))
        and not path.name.endswith("~")
    )


def load_file(path: Path) -> TermList:
    """Read one list file; the format follows the extension (``.txt`` plain, ``.toml`` rich)."""
    if path.suffix not in {".txt", ".toml"}:
        raise TermListError(f"{path.name}: term lists are .txt (plain) or .toml (rich) files")
    text = _read_text(path)
    if path.suffix == ".toml":
        return parse_rich(text, name=path.stem, source=path.name)
    return parse_plain(text, name=path.stem, source=path.name)
