"""Stream a JSON document of any size as parser events that know their line number.

``ijson`` parses incrementally in constant memory but does not say where an event came from. We
feed it one line at a time (long lines in pieces of at most :data:`PIECE` bytes), so every event
produced by a piece belongs to that piece's line. A minified export is one long line: all its
events are on line 1, which is the truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from ohsc.errors import FormatError

#: Most bytes handed to the parser at once (and so the most one read holds in memory).
PIECE = 1 << 16

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

#: ``(prefix, event, value)`` as in ``ijson.parse``: prefix ``"value.item.MD5"``, event
#: ``"start_map"``, ``"map_key"``, ``"string"``, ``"number"``, ...
Event = tuple[str, str, Any]


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
