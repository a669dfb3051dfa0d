"""Obfuscation-robust normalisation of short texts (search queries, user names, chat lines).

Terms and checked texts go through the same steps, so a term matches however it was disguised:

1. **Unicode**: NFKC (full-width, mathematical and other compatibility letters become plain
   ones), case folding, then one translation table that deletes invisible characters (format
   characters such as zero-width spaces and joiners, soft hyphens, variation selectors, fillers),
   strips diacritics from Latin, Greek and Cyrillic letters and combining marks, and maps
   confusable letters to their Latin look-alike using Unicode's own confusables data (UTS #39,
   shipped by the ``confusable-homoglyphs`` package; nothing here is a hand-made table). A text
   with non-Latin capitals is also read with the table applied before case folding (Greek Β and
   Cyrillic К look Latin only as capitals).
2. **Leetspeak**: digits and symbols used as letters (``0``→o, ``1``→i or l, ``3``→e, ``4``→a,
   ``5``→s, ``7``→t, ``8``→b, ``9``→g, ``@``→a, ``$``→s, ``!``→i, ``|``→i or l, ``+``→t, ``€``→e).
   A second reading drops digit and symbol runs at the edges of words instead, so a user name
   such as ``word99`` still contains the word.
3. **Separators**: a *word view* where every run of punctuation, symbols and spaces is one word
   boundary, and a *joined view* where punctuation inside a word is removed (``w.o.r.d``,
   ``w-o-r-d``) and runs of single letters separated by spaces are joined (``w o r d``).
4. **Repeated letters**: runs of three or more identical letters are read both as two and as one
   letter (``wooooord`` → ``woord`` and ``word``); terms themselves keep at most two.

Every view is padded with a space on both sides and terms are matched with spaces around them,
so a term only matches whole words: precision matters more than catching every disguise.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from itertools import chain

#: Combining marks removed everywhere (general diacritics, Hebrew points, Arabic harakat).
_MARK_RANGES = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0591, 0x05C7),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
#: Letters that render as nothing but are not format characters.
_INVISIBLE_LETTERS = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F})
_LEET_CHARS = "0123456789@$!|+€"
_LEET_I = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
    | {"@": "a", "$": "s", "!": "i", "|": "i", "+": "t", "€": "e"}
)
_LEET_L = str.maketrans(
    {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
    | {"@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"}
)
_HAS_LEET = re.compile(r"[0-9@$!|+€]")
_HAS_L_LIKE = re.compile(r"[1|]")
#: A capital I inside a lower-case word is usually a disguised l ("fIower").
_INNER_CAPITAL_I = re.compile(r"(?<=[a-z])I|I(?=[a-z]{2})")
_LEET_EDGE = re.compile(r"(?<!\w)[0-9@$!|+€]+|[0-9@$!|+€]+(?!\w)")
_NON_WORD = re.compile(r"[\W_]+")
_RUN3 = re.compile(r"(\w)\1{2,}")


def _in_mark_ranges(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _MARK_RANGES)


def _strippable_base(ch: str) -> bool:
    """Latin, Greek and Cyrillic letters lose their diacritics; other scripts keep their marks."""
    cp = ord(ch)
    return cp < 0x0530 or 0x1E00 <= cp <= 0x1FFF or 0x2C60 <= cp <= 0x2C7F or 0xA720 <= cp <= 0xA7FF


def _ascii_alnum(text: str) -> bool:
    return 0 < len(text) <= 2 and text.isascii() and text.isalnum()


@lru_cache(maxsize=1)
def confusable_targets() -> dict[str, str]:
    """Non-ASCII characters that Unicode lists as confusable with ASCII letters or digits.

    The package's data is a graph (each character with the characters it can be mistaken for);
    the nearest ASCII letter (then digit) within three steps is the target.
    """
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(raw)
    graph = {
        key: [entry["c"].strip("\u200e\u200f") for entry in entries]
        for key, entries in data.items()
        if len(key) == 1
    }
    out: dict[str, str] = {}
    for ch, first in graph.items():
        if ch.isascii():
            continue
        frontier, seen = first, {ch}
        for _ in range(3):
            found = [t for t in frontier if _ascii_alnum(t)]
            if found:
                best = min(found, key=lambda t: (len(t), t.isdigit(), t.lower()))
                out[ch] = best.lower()
                break
            step: list[str] = []
            for t in frontier:
                if len(t) == 1 and t not in seen:
                    seen.add(t)
                    step.extend(graph.get(t, ()))
            frontier = step
    return out


def _fold_char(ch: str, confusables: dict[str, str]) -> str:
    cp = ord(ch)
    category = unicodedata.category(ch)
    if category == "Cf" or cp in _INVISIBLE_LETTERS or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return ""
    if category == "Mn" and _in_mark_ranges(cp):
        return ""
    if category[0] == "Z":
        return " "
    if ch in confusables:
        return confusables[ch]
    if category[0] == "L":
        decomposed = unicodedata.normalize("NFD", ch)
        if len(decomposed) > 1 and _strippable_base(decomposed[0]):
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            return "".join(confusables.get(c, c) for c in base).casefold()
    return ch


@lru_cache(maxsize=1)
def fold_table() -> dict[int, str]:
    """One ``str.translate`` table for everything beyond NFKC and case folding (built once)."""
    confusables = confusable_targets()
    table: dict[int, str] = {}
    for cp in chain(range(0x80, 0x20000), range(0xE0000, 0xE1000)):
        ch = chr(cp)
        folded = _fold_char(ch, confusables)
        if folded != ch:
            table[cp] = folded
    return table


def _fold_compat(s: str, confusable_capitals: bool) -> str:
    if s.isascii():
        return s.casefold()
    table = fold_table()
    if confusable_capitals:
        s = s.translate(table)
    return s.casefold().translate(table)


def fold(text: str, *, confusable_capitals: bool = False) -> str:
    """Unicode step only: NFKC, case folding, invisible characters, diacritics, confusables.

    Confusables are applied after case folding, so Greek and Cyrillic words match in either
    case. With ``confusable_capitals`` they are applied before case folding too, so capitals
    that only look Latin in upper case (Greek Β, Cyrillic К) read as Latin letters.
    """
    return _fold_compat(unicodedata.normalize("NFKC", text), confusable_capitals)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
#: The joined view differs from the word view only with punctuation inside a word or single letters.
_JOINABLE = re.compile(r"\w[^\w\s]+\w|\w_+\w|(?:^|\s)[^\W_](?:\s|$)")


def _has_foreign_capitals(compat: str) -> bool:
    """Non-ASCII capitals (after NFKC, so mathematical capitals count as their letters)."""
    if compat.isascii():
        return False
    foreign = "".join(_NON_ASCII.findall(compat))
    return foreign != foreign.lower()


def word_view(s: str) -> str:
    """Every run of non-letters is one space; padded with spaces."""
    return " " + _NON_WORD.sub(" ", s).strip() + " "


def joined_view(s: str) -> str:
    """Punctuation inside words removed; runs of single letters joined; padded with spaces."""
    out: list[str] = []
    run: list[str] = []
    for raw in s.split():
        token = _NON_WORD.sub("", raw)
        if not token:
            continue
        if len(token) == 1:
            run.append(token)
            continue
        if run:
            out.append("".join(run)) if len(run) > 1 else out.extend(run)
            run = []
        out.append(token)
    if run:
        out.append("".join(run)) if len(run) > 1 else out.extend(run)
    return " " + " ".join(out) + " "


def _add_with_runs(view: str, out: dict[str, None]) -> None:
    if _RUN3.search(view):
        out[_RUN3.sub(r"\1\1", view)] = None
        out[_RUN3.sub(r"\1", view)] = None
    else:
        out[view] = None


#: Anything in an ASCII text that needs more than the word view (checked in one pass).
_SLOW_PATH = re.compile(r"[0-9@$!|+]|(\w)\1\1|\w[^\w\s]+\w|\w_+\w|(?:^|\s)[^\W_](?:\s|$)")


def text_views(text: str) -> list[str]:
    """The padded views of a checked text; a term matches the text if it occurs in any of them."""
    if text.isascii():
        lowered = text.casefold()
        if not _SLOW_PATH.search(lowered) and not _INNER_CAPITAL_I.search(text):
            return [word_view(lowered)]
    compat = text if text.isascii() else unicodedata.normalize("NFKC", text)
    bases = [_fold_compat(compat, False)]
    capitals = _has_foreign_capitals(compat)
    if capitals:
        bases.append(_fold_compat(compat, True))
    if _INNER_CAPITAL_I.search(compat):
        bases.append(_fold_compat(_INNER_CAPITAL_I.sub("l", compat), capitals))
    readings: dict[str, None] = {}
    for b in bases:
        if not _HAS_LEET.search(b):
            readings[b] = None
            continue
        tables = [_LEET_I, _LEET_L] if _HAS_L_LIKE.search(b) else [_LEET_I]
        inner = _LEET_EDGE.sub(" ", b)
        for table in tables:
            readings[b.translate(table)] = None
            readings[inner.translate(table)] = None
    views: dict[str, None] = {}
    for reading in readings:
        _add_with_runs(word_view(reading), views)
        if _JOINABLE.search(reading):
            _add_with_runs(joined_view(reading), views)
    return list(views)


def term_forms(term: str) -> list[str]:
    """The normalised forms of a listed term or phrase (words separated by single spaces)."""
    base = fold(term)
    tables = [_LEET_I, _LEET_L] if _HAS_L_LIKE.search(base) else [_LEET_I]
    forms: dict[str, None] = {}
    for table in tables:
        words = word_view(base.translate(table)).strip()
        forms[_RUN3.sub(r"\1\1", words)] = None
    return [f for f in forms if f]
