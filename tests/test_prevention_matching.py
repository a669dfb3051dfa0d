"""Normalisation and matching of term lists: obfuscations caught, ordinary words left alone.

Every listed word here is invented; nothing resembles a real search term.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ohsc.prevention.matcher import CompiledLists
from ohsc.prevention.normalise import confusable_targets, fold, term_forms, text_views
from ohsc.prevention.termlists import parse_plain, parse_rich

PLAIN = """\
# invented placeholder words for tests
zorblat
quindle*        # prefix: quindle, quindles, quindlework
*morvek         # suffix
vextor prane    # a phrase
glimmoth        # another word
"""


@pytest.fixture(scope="module")
def lists() -> CompiledLists:
    plain = parse_plain(PLAIN, name="en", source="en.txt")
    rich = parse_rich(
        """
language = "de"
description = "invented words"
terms = ["snarvo*", "plemt"]
phrases = ["dorn kavel"]
exceptions = ["snarvolino"]
patterns = ['\\bkr[ae]+mp\\d*\\b']
""",
        name="de-extra",
        source="de-extra.toml",
    )
    return CompiledLists([plain, rich])


def names(lists: CompiledLists, text: str) -> list[str]:
    return [h.list_name for h in lists.match(text)]


@pytest.mark.parametrize(
    "text",
    [
        "zorblat",
        "ZORBLAT",
        "where is the zorblat today",
        "ｚｏｒｂｌａｔ",  # full-width (NFKC)
        "𝐳𝐨𝐫𝐛𝐥𝐚𝐭",  # mathematical bold (NFKC)
        "zоrblаt",  # Cyrillic о and а (confusables)
        "zοrblαt",  # Greek omicron and alpha (confusables)
        "ΖΟRΒLΑΤ",  # Greek capitals
        "z0rbl4t",  # leetspeak
        "z0rb1at",  # 1 read as l
        "zorbI at".replace(" ", ""),  # capital I for l
        "z.o.r.b.l.a.t",  # separators
        "z-o-r-b-l-a-t",
        "z_o_r_b_l_a_t",
        "z o r b l a t",  # spaced letters
        "z\u200bo\u200cr\u200db\u2060l\ufeffa\u00adt",  # zero-width and soft hyphen
        "zooooorblaaaat",  # repeated letters
        "ZoOorblat",  # repeated letters in mixed case
        "zórblät",  # diacritics
        "z̷o̸r̵b̶l̷a̸t̵",  # combining overlays (zalgo)
        "zorblat99",  # user-name digits
        "@zorblat",  # mention
        "#zorblat!",
        "zorblat.com",
        "foo_zorblat_bar",
    ],
)
def test_obfuscated_term_is_found(lists: CompiledLists, text: str) -> None:
    assert names(lists, text) == ["en"]


@pytest.mark.parametrize(
    "text",
    [
        "zorblatte",  # longer word: whole words only
        "azorblat",
        "zorbla",
        "zorblot",
        "zorb lat",  # split in two words
        "the weather is nice today",
        "",
        "   ",
        "12345",
        "quindl",  # shorter than the prefix term
        "morve",
        "prane vextor",  # phrase in the wrong order
        "vextor is not prane",
    ],
)
def test_ordinary_text_is_not_matched(lists: CompiledLists, text: str) -> None:
    assert names(lists, text) == []


def test_wildcards_phrases_and_patterns(lists: CompiledLists) -> None:
    assert names(lists, "quindle") == ["en"]
    assert names(lists, "quindlework") == ["en"]
    assert names(lists, "aquindle") == []
    assert names(lists, "bigmorvek") == ["en"]
    assert names(lists, "morvekish") == []
    assert names(lists, "vextor prane") == ["en"]
    assert names(lists, "VEXTOR---prane") == ["en"]
    assert names(lists, "vextorprane") == ["en"]  # phrases also match joined
    assert names(lists, "v e x t o r p r a n e") == ["en"]
    assert names(lists, "kraaaamp") == ["de-extra"]
    assert names(lists, "kremp42") == ["de-extra"]
    assert names(lists, "dorn-kavel") == ["de-extra"]


def test_exceptions_cancel_wildcard_hits(lists: CompiledLists) -> None:
    assert names(lists, "snarvoish") == ["de-extra"]
    assert names(lists, "snarvolino") == []
    assert names(lists, "snarvolino and snarvo") == ["de-extra"]


def test_hits_name_list_and_entry_not_text(lists: CompiledLists) -> None:
    hits = lists.match("glimmoth and zorblat and plemt")
    assert [(h.list_name, h.kind) for h in hits] == [("en", "term"), ("en", "term"), ("de-extra", "term")]
    assert {h.describe(lists.lists) for h in hits} == {"zorblat", "glimmoth", "plemt"}


def test_views_are_padded_and_deduplicated() -> None:
    views = text_views("Hello, World")
    assert views == [" hello world "]
    assert all(v.startswith(" ") and v.endswith(" ") for v in text_views("a.b.c d0g 111"))


def test_confusables_come_from_unicode_data() -> None:
    table = confusable_targets()
    assert len(table) > 1000  # the maintained table, not a hand-made one
    assert table["а"] == "a"  # Cyrillic a
    assert table["ο"] == "o"  # Greek omicron
    assert fold("ΑΒΕ", confusable_capitals=True) == "abe"  # Greek capitals look like Latin ones
    assert fold("ΒΗΤΑ") == fold("βητα")  # but Greek words still match in either case


def test_term_forms_keep_double_letters_and_read_digits() -> None:
    assert term_forms("Boook") == ["book"]
    assert term_forms("b00k") == ["book"]
    assert term_forms("l1ne") == ["line", "llne"]
    assert term_forms("two  Words") == ["two words"]


@settings(max_examples=150, deadline=None)
@given(
    word=st.text(alphabet="bcdfghjkmnpqrstvwxz", min_size=5, max_size=10),
    before=st.sampled_from(["", "find ", "the best ", "(", "#"]),
    after=st.sampled_from(["", " now", " 2024", "!", ")"]),
    style=st.sampled_from(["plain", "upper", "dots", "spaces", "zw", "fullwidth"]),
)
def test_any_invented_word_is_found_however_written(word: str, before: str, after: str, style: str) -> None:
    lists = CompiledLists([parse_plain(word + "\n", name="gen", source="gen.txt")])
    shown = {
        "plain": word,
        "upper": word.upper(),
        "dots": ".".join(word),
        "spaces": " ".join(word),
        "zw": "\u200b".join(word),
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) for c in word),
    }[style]
    assert [h.list_name for h in lists.match(before + shown + after)] == ["gen"]


@settings(max_examples=100, deadline=None)
@given(word=st.text(alphabet="bcdfghjkmnpqrstvwxz", min_size=5, max_size=10), extra=st.sampled_from("aeiouy"))
def test_invented_word_inside_a_longer_word_is_not_found(word: str, extra: str) -> None:
    lists = CompiledLists([parse_plain(word + "\n", name="gen", source="gen.txt")])
    assert lists.match(f"{word}{extra}{word[:2]}") == []
    assert lists.match(f"{extra}{word}") == []
