"""Stream a JSON document of any size as parser events that know their line number.

``ijson`` parses incrementally in constant memory but does not say where an event came from. We
feed it one line at a time (long lines in pieces of at most :data:`PIECE` bytes), so every event
produced by a piece belongs to that piece's line. A minified export is one long line: all its
events are on line 1, which is the truth.

Before a piece reaches the parser, :class:`Guard` scans it (in C, by regular expression) for
nesting depth and string length, and stops the file with :class:`ImportLimitError` past
:class:`JsonLimits` (``OHSC_IMPORT_MAX_DEPTH``, ``OHSC_IMPORT_MAX_STRING_BYTES``): the parser's
events carry their whole path, so unbounded nesting would cost memory with the square of the depth,
and it re-reads a string that spans pieces, which costs time with the square of its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, BinaryIO

from ohsc.errors import FormatError, ImportLimitError

#: Most bytes handed to the parser at once (and so the most one read holds in memory).
PIECE = 1 << 16

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

#: ``(prefix, event, value)`` as in ``ijson.parse``: prefix ``"value.item.MD5"``, event
#: ``"start_map"``, ``"map_key"``, ``"string"``, ``"number"``, ...
Event = tuple[str, str, Any]


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """How deep and how long a JSON hash list may be (defaults: the settings' defaults)."""

    max_depth: int = 64
    max_string_bytes: int = 1024 * 1024


_DEFAULT_LIMITS = JsonLimits()
_LIMITS: ContextVar[JsonLimits | None] = ContextVar("ohsc_json_limits", default=None)


@contextmanager
def json_limits(limits: JsonLimits) -> Iterator[None]:
    """Readers started inside this block (and read to the end there) use ``limits``."""
    token = _LIMITS.set(limits)
    try:
        yield
    finally:
        _LIMITS.reset(token)


def current_limits() -> JsonLimits:
    return _LIMITS.get() or _DEFAULT_LIMITS


#: A string (escapes included; group 1 is its closing quote, or empty or a lone backslash when
#: the piece ends inside it), or one bracket outside strings.
_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+("|\\?\Z)|[\[\]{}]', re.DOTALL)
#: A whole string.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
#: The rest of a string begun in an earlier piece (group 1 as in ``_TOKEN``).
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+("|\\?\Z)', re.DOTALL)


class Guard:
    """Tracks nesting depth and string length over the raw bytes of a JSON document, piece by
    piece, in constant memory and linear time; raises :class:`ImportLimitError` past the limits."""

    def __init__(self, limits: JsonLimits) -> None:
        self.limits = limits
        self.depth = 0
        #: bytes so far of a string begun in an earlier piece (None: not inside one)
        self.open_string: int | None = None
        self.escape = False  # that string's last piece ended with a lone backslash

    def _too_long(self, line: int) -> ImportLimitError:
        return ImportLimitError(
            f"a string longer than {self.limits.max_string_bytes} bytes (OHSC_IMPORT_MAX_STRING_BYTES): "
            "not a hash list",
            detail={"line": line},
        )

    def feed(self, chunk: bytes, line: int) -> None:
        if self.open_string is None and len(chunk) <= self.limits.max_string_bytes:
            # the usual piece (one line of records): strings cut out in C, brackets counted in C
            if b"\\" in chunk:
                rest = _STRING.sub(b"", chunk)
            else:  # no escapes: every other run between quotes is outside strings
                parts = chunk.split(b'"')
                rest = b"".join(parts[::2]) if len(parts) % 2 else b'"'
            opens = rest.count(b"[") + rest.count(b"{")
            if b'"' not in rest and self.depth + opens <= self.limits.max_depth:
                self.depth += opens - rest.count(b"]") - rest.count(b"}")
                return
        self._scan(chunk, line)

    def _scan(self, chunk: bytes, line: int) -> None:
        """Token by token: a string left open at the end of the piece, or a limit in reach."""
        pos = 0
        if self.open_string is not None:
            start = 1 if self.escape else 0  # the escaped byte
            m = _STRING_REST.match(chunk, start)
            assert m is not None  # the pattern matches at least the empty string at the end
            self.open_string += m.end()
            if self.open_string > self.limits.max_string_bytes:
                raise self._too_long(line)
            if m.group(1) != b'"':
                self.escape = m.group(1) == b"\\"
                return
            self.open_string, self.escape, pos = None, False, m.end()
        limit_depth, limit_string = self.limits.max_depth, self.limits.max_string_bytes
        depth = self.depth
        for m in _TOKEN.finditer(chunk, pos):
            start = m.start()
            first = chunk[start]
            if first == 0x22:  # a string
                if m.end() - start > limit_string:
                    raise self._too_long(line)
                if m.group(1) != b'"':  # it goes on in the next piece
                    self.open_string, self.escape = m.end() - start, m.group(1) == b"\\"
                    break
            elif first == 0x5B or first == 0x7B:
                depth += 1
                if depth > limit_depth:
                    raise ImportLimitError(
                        f"lists and objects nested deeper than {limit_depth} (OHSC_IMPORT_MAX_DEPTH): "
                        "not a hash list",
                        detail={"line": line},
                    )
            else:
                depth -= 1
        self.depth = depth


def _first_line_of(exc: Exception) -> str:
    """The parser's message without the excerpt of the document it appends (content stays out)."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def json_events(fh: BinaryIO, piece: int = PIECE) -> Iterator[tuple[int, list[Event]]]:
    """Yield ``(line, events)`` for a UTF-8 JSON document: the events parsed from one piece of
    ``line`` (in batches, which keeps the per-event cost down on files of millions of records).

    Raises :class:`FormatError` with ``detail["line"]`` where the document stops being JSON.
    """
    import ijson

    sink: list[Event] = ijson.sendable_list()
    parser = ijson.parse_coro(sink)
    guard = Guard(current_limits())
    line = 1
    first = True
    empty = True
    while True:
        chunk = fh.readline(piece)
        if first:
            first = False
            if chunk.startswith(_UTF16_BOMS):
                raise FormatError("the file is UTF-16 text: save it as UTF-8", detail={"line": 1})
            if chunk.startswith(_UTF8_BOM):
                chunk = chunk[len(_UTF8_BOM) :]
        if not chunk:
            break
        empty = empty and not chunk.strip()
        guard.feed(chunk, line)
        try:
            parser.send(chunk)
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            yield line, list(sink)
            raise FormatError(f"not valid JSON: {_first_line_of(exc)}", detail={"line": line}) from None
        if sink:
            yield line, list(sink)
            del sink[:]
        if chunk.endswith(b"\n"):
            line += 1
    if empty:
        raise FormatError("the file is empty", detail={"line": 1})
    try:
        parser.close()
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        yield line, list(sink)
        raise FormatError(
            f"the JSON document ends too early: {_first_line_of(exc)}", detail={"line": line}
        ) from None
    if sink:
        yield line, list(sink)
