"""Term-list files: the plain and rich formats, errors that name file and line, reload without restart."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from ohsc.errors import TermListError
from ohsc.prevention.registry import TermListRegistry
from ohsc.prevention.termlists import load_file, parse_plain, parse_rich


def test_plain_format_comments_blank_lines_phrases_wildcards() -> None:
    tl = parse_plain(
        "# a comment\n\nzorblat\n  quindle*   # trailing comment\nvextor prane\nzorblat\n*morvek\n",
        name="pt-BR",
        source="pt-BR.txt",
    )
    assert tl.language == "pt-br"
    assert tl.counts == {"terms": 3, "phrases": 1, "patterns": 0, "exceptions": 0}
    assert [e.line for e in tl.entries] == [3, 4, 5, 7]
    assert tl.entries[1].suffix
    assert not tl.entries[1].prefix
    assert tl.entries[3].prefix


def test_plain_list_without_language_name() -> None:
    assert parse_plain("zorblat\n", name="search-terms_v2", source="x.txt").language == "und"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("zorblat\nq\n", "x.txt:2: too short"),
        ("zorblat\nzo*\n", "x.txt:2: too short: a wildcard term"),
        ("zor*blat\n", "x.txt:1: '*' is only allowed"),
        ("???\n", "x.txt:1: the term has no letters"),
    ],
)
def test_plain_errors_name_file_and_line(text: str, fragment: str) -> None:
    with pytest.raises(TermListError) as info:
        parse_plain(text, name="x", source="x.txt")
    assert fragment in info.value.message
    assert "zorblat" not in info.value.message  # errors never quote listed terms


def test_rich_format() -> None:
    tl = parse_rich(
        """
name = "chat-de"
language = "de"
description = "Erfundene Wörter"
message = "deterrence.chat"
join_phrases = false
terms = ["glimpf", "snarvo*"]
phrases = ["dorn kavel"]
patterns = ['\\bkr[ae]+mp\\b']
exceptions = ["snarvolino"]
""",
        name="file-stem",
        source="chat-de.toml",
    )
    assert (tl.name, tl.language, tl.message, tl.join_phrases, tl.format) == (
        "chat-de",
        "de",
        "deterrence.chat",
        False,
        "rich",
    )
    assert tl.counts == {"terms": 2, "phrases": 1, "patterns": 1, "exceptions": 1}


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ("terms = ['glimpf']\ncolour = 'red'\n", "unknown key(s) colour"),
        ("terms = 'glimpf'\n", "'terms' must be a list of strings"),
        ("terms = ['two words']\n", "list it under 'phrases'"),
        ("patterns = ['(unclosed']\n", "pattern 1 is not a valid regular expression"),
        ("patterns = ['x*']\n", "matches an empty text"),
        ("language = 'not a language'\n", "is not a language code"),
        ("enabled = 'yes'\n", "'enabled' must be true or false"),
        ("terms = [\n", "not valid TOML"),
    ],
)
def test_rich_errors(doc: str, fragment: str) -> None:
    with pytest.raises(TermListError) as info:
        parse_rich(doc, name="x", source="x.toml")
    assert fragment in info.value.message


def test_load_file_checks_encoding_and_extension(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("zörblat\n".encode("latin-1"))
    with pytest.raises(TermListError, match="not UTF-8"):
        load_file(bad)
    other = tmp_path / "list.csv"
    other.write_text("zorblat\n")
    with pytest.raises(TermListError, match=r"\.txt \(plain\) or \.toml"):
        load_file(other)
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffzorblat\n".encode())
    assert load_file(bom).entries[0].forms == ("zorblat",)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _touch(path: Path, text: str, bump: int) -> None:
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_registry_reloads_changed_files_without_restart(tmp_path: Path) -> None:
    clock = Clock()
    (tmp_path / "en.txt").write_text("zorblat\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored\n")
    (tmp_path / "en.txt~").write_text("ignored backup\n")
    registry = TermListRegistry(directory=tmp_path, check_seconds=5, clock=clock)
    assert registry.compiled().first("zorblat") is not None
    assert registry.compiled().first("glimmoth") is None
    assert registry.status().sources == ("en.txt",)

    _touch(tmp_path / "en.txt", "zorblat\nglimmoth\n", bump=1)
    clock.now = 1  # not yet time to look again
    assert registry.compiled().first("glimmoth") is None
    clock.now = 6
    assert registry.compiled().first("glimmoth") is not None
    assert registry.status().generation == 2

    (tmp_path / "de.toml").write_text("terms = ['plemt']\n", encoding="utf-8")
    clock.now = 12
    hit = registry.compiled().first("plemt")
    assert hit is not None
    assert hit.list_name == "de"

    (tmp_path / "de.toml").unlink()
    clock.now = 18
    assert registry.compiled().first("plemt") is None


def test_a_broken_file_keeps_the_lists_in_force(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    (tmp_path / "en.txt").write_text("zorblat\n", encoding="utf-8")
    registry = TermListRegistry(directory=tmp_path, check_seconds=1, clock=clock)
    assert registry.compiled().first("zorblat") is not None
    _touch(tmp_path / "en.txt", "zorblat\nx\n", bump=1)
    clock.now = 2
    with caplog.at_level(logging.WARNING):
        assert registry.compiled().first("zorblat") is not None  # still in force
    status = registry.status()
    assert status.errors == ("en.txt:2: too short: a term needs at least 2 letters after normalisation",)
    assert "en.txt:2" in caplog.text
    assert "zorblat" not in caplog.text
    (tmp_path / "de.txt").write_text("plemt\n", encoding="utf-8")  # other files still update
    clock.now = 3
    assert registry.compiled().first("plemt") is not None
    assert registry.compiled().first("zorblat") is not None
    _touch(tmp_path / "en.txt", "zorblat\nglimmoth\n", bump=2)
    clock.now = 5
    assert registry.compiled().first("glimmoth") is not None
    assert registry.status().errors == ()


def test_first_load_skips_broken_files_and_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("zorblat\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("q\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text("name = 'a'\nterms = ['plemt']\n", encoding="utf-8")
    registry = TermListRegistry(directory=tmp_path)
    status = registry.status()
    assert [tl.name for tl in status.lists] == ["a"]
    assert len(status.errors) == 2
    assert registry.compiled().first("zorblat") is not None


def test_disabled_lists_do_not_match(tmp_path: Path) -> None:
    (tmp_path / "off.toml").write_text("enabled = false\nterms = ['plemt']\n", encoding="utf-8")
    registry = TermListRegistry(files=[tmp_path / "off.toml"])
    assert registry.compiled().first("plemt") is None
    assert registry.status().lists[0].enabled is False


def test_missing_directory_means_no_lists(tmp_path: Path) -> None:
    registry = TermListRegistry(directory=tmp_path / "absent")
    assert registry.compiled().match("anything at all") == []
