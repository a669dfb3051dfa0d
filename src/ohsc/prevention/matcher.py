"""Compiled term lists: one Aho-Corasick automaton (``pyahocorasick``) over every list.

Each listed form is stored with a space on each side (a whole word) or on one side only (``*``
wildcards); the checked text's views are padded the same way, so one pass per view finds every
whole-word occurrence of every term of every list. Exceptions are in the same automaton and
cancel a hit of their own list that lies inside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick

from ohsc.prevention.normalise import text_views
from ohsc.prevention.termlists import Entry, TermList

TERM, PHRASE, EXCEPTION, JOINED = 0, 1, 2, 3
_KIND_NAMES = {TERM: "term", PHRASE: "phrase", JOINED: "phrase", EXCEPTION: "exception"}


@dataclass(frozen=True, slots=True)
class Hit:
    """Which list matched and through which entry; never the checked text."""

    list_name: str
    kind: str  # term | phrase | pattern
    entry: int  # index in the list's entries (or patterns)

    def describe(self, lists: Sequence[TermList]) -> str:
        """The listed term that matched (for the operator's own tools, never logged)."""
        for tl in lists:
            if tl.name == self.list_name:
                if self.kind == "pattern":
                    return tl.patterns[self.entry].text
                return tl.entries[self.entry].text
        return ""


def _keys(entry: Entry) -> list[str]:
    keys = []
    for form in entry.forms:
        left = "" if entry.prefix else " "
        right = "" if entry.suffix else " "
        keys.append(f"{left}{form}{right}")
    return keys


class CompiledLists:
    """Every enabled list, compiled; :meth:`match` answers for a text."""

    def __init__(self, lists: Iterable[TermList]) -> None:
        self.lists: tuple[TermList, ...] = tuple(tl for tl in lists if tl.enabled)
        self.by_name: dict[str, TermList] = {tl.name: tl for tl in self.lists}
        self.disabled: tuple[TermList, ...] = ()
        payloads: dict[str, list[tuple[int, int, int, int]]] = {}

        def add(key: str, list_idx: int, kind: int, entry_idx: int) -> None:
            payloads.setdefault(key, []).append((list_idx, kind, entry_idx, len(key)))

        self._patterns: list[tuple[int, re.Pattern[str]]] = []
        for li, tl in enumerate(self.lists):
            for ei, entry in enumerate(tl.entries):
                kind = PHRASE if entry.is_phrase else TERM
                for key in _keys(entry):
                    add(key, li, kind, ei)
                if entry.is_phrase and tl.join_phrases:
                    for form in entry.forms:
                        joined = Entry(entry.text, (form.replace(" ", ""),), entry.prefix, entry.suffix)
                        for key in _keys(joined):
                            add(key, li, JOINED, ei)
            for ei, entry in enumerate(tl.exceptions):
                for key in _keys(entry):
                    add(key, li, EXCEPTION, ei)
            if tl.patterns:
                combined = "|".join(f"(?P<p{p.index}>{p.regex.pattern})" for p in tl.patterns)
                try:
                    self._patterns.append((li, re.compile(combined)))
                except re.error:  # named groups inside patterns clash: fall back to one by one
                    for p in tl.patterns:
                        self._patterns.append((li, re.compile(f"(?P<p{p.index}>{p.regex.pattern})")))
        self._automaton: ahocorasick.Automaton | None = None
        if payloads:
            automaton = ahocorasick.Automaton()
            for key, payload in payloads.items():
                automaton.add_word(key, tuple(payload))
            automaton.make_automaton()
            self._automaton = automaton
        self.size = len(payloads)

    def _hits_in(self, view: str) -> list[tuple[int, int, int]]:
        """(list index, kind, entry index) found in one view, exceptions applied."""
        assert self._automaton is not None
        found: list[tuple[int, int, int, int, int]] = []
        cancels: list[tuple[int, int, int]] = []
        for end, payload in self._automaton.iter(view):
            for li, kind, ei, length in payload:
                start = end - length + 1
                if kind == EXCEPTION:
                    cancels.append((li, start, end))
                else:
                    found.append((li, kind, ei, start, end))
        if cancels:
            found = [
                f for f in found if not any(c[0] == f[0] and c[1] <= f[3] and f[4] <= c[2] for c in cancels)
            ]
        return [(li, kind, ei) for li, kind, ei, _, _ in found]

    def match_views(self, views: Sequence[str]) -> list[Hit]:
        """Every (list, entry) that matches, lists in priority order (file name order)."""
        hits: dict[tuple[int, str, int], None] = {}
        if self._automaton is not None:
            for view in views:
                for li, kind, ei in self._hits_in(view):
                    hits[(li, _KIND_NAMES[kind], ei)] = None
        for li, regex in self._patterns:
            for view in views:
                m = regex.search(view)
                if m is not None and m.lastgroup is not None:
                    hits[(li, "pattern", int(m.lastgroup[1:]))] = None
                    break
        if not hits:
            return []
        ordered = sorted(hits, key=lambda h: (h[0], h[1], h[2]))
        return [Hit(self.lists[li].name, kind, ei) for li, kind, ei in ordered]

    def match(self, text: str) -> list[Hit]:
        if self._automaton is None and not self._patterns:
            return []
        return self.match_views(text_views(text))

    def first(self, text: str) -> Hit | None:
        hits = self.match(text)
        return hits[0] if hits else None
