"""Finding review items, decided ones too: by item number (``#12``), by content id (the caller's
``content_id`` or OHSC's content record number), by a hash of the upload or of a matched bank
entry, and by bank entry (``entry 34``, or the entry's external id)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, cast, exists, false, or_, select

from ohsc.content.models import ContentRow, MatchRecordRow
from ohsc.errors import InvalidInputError
from ohsc.review.models import ReviewItemRow
from ohsc.signals import guess_signal_types
from ohsc.store.models import EntryRow
from ohsc.store.types import ascii_int

MAX_CHARS = 300
HELP = "search for an item (#12), a content id, a hash, or a bank entry (entry 34, or its external id)"
_ITEM = re.compile(r"^(?:#|item\s*#?\s*)([0-9]{1,18})$", re.IGNORECASE)
_ENTRY = re.compile(r"^(?:entry|e)\s*[:#]?\s*([0-9]{1,18})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Query:
    #: item | entry | hash | content_id (which also finds external ids of matched entries)
    kind: str
    text: str
    number: int | None = None


def parse(text: str) -> Query:
    text = (text or "").strip()
    if not text:
        raise InvalidInputError(HELP)
    if len(text) > MAX_CHARS:
        raise InvalidInputError(f"a search is at most {MAX_CHARS} characters")
    if found := _ITEM.match(text):
        return Query("item", text, int(found[1]))
    if found := _ENTRY.match(text):
        return Query("entry", text, int(found[1]))
    if guess_signal_types(text.lower()):
        return Query("hash", text.lower())
    return Query("content_id", text, ascii_int(text) if len(text) <= 18 else None)


def _matched(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(MatchRecordRow.content_item_id == ReviewItemRow.content_item_id, *conditions)


def condition(query: Query) -> ColumnElement[bool]:
    """A condition on review items joined with their content (``queue.base_query``)."""
    if query.kind == "item":
        return ReviewItemRow.id == query.number
    if query.kind == "entry":
        return _matched(MatchRecordRow.entry_id == query.number)
    if query.kind == "hash":
        in_bank = select(EntryRow.id).where(EntryRow.value == query.text)
        # content signals are a JSON object of hex strings: the quoted value finds it exactly
        in_upload = cast(ContentRow.signals, String).contains(f'"{query.text}"')
        return or_(in_upload, _matched(MatchRecordRow.entry_id.in_(in_bank)))
    return or_(
        ContentRow.client_ref == query.text,
        _matched(MatchRecordRow.external_id == query.text),
        ContentRow.id == query.number if query.number is not None else false(),
    )
