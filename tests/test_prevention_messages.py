"""The localised, versioned message catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohsc.errors import ConfigError
from ohsc.prevention.messages import MESSAGE_FIELDS, MessageCatalogue, normalise_locale


@pytest.fixture(scope="module")
def catalogue() -> MessageCatalogue:
    return MessageCatalogue()


def test_builtin_locales_are_complete(catalogue: MessageCatalogue) -> None:
    assert set(catalogue.locales) >= {"en", "de", "fr", "es", "nl", "it", "pt"}
    english = catalogue.strings("en")
    for tag in catalogue.locales:
        assert catalogue.strings(tag).keys() == english.keys()
        for context in (None, "search"):
            msg = catalogue.message(tag, context=context)
            assert msg.locale == tag
            assert msg.version >= 1
            for field in MESSAGE_FIELDS:
                text = getattr(msg, field)
                assert text
                assert "  " not in text  # line continuations joined cleanly
                assert "\\" not in text


def test_english_message_says_the_three_things_without_shaming(catalogue: MessageCatalogue) -> None:
    body = catalogue.message("en").body.lower()
    assert "illegal" in body
    assert "real child" in body
    assert "confidential help" in body
    for word in ("pervert", "disgusting", "monster", "shame", "sick"):
        assert word not in body


def test_locale_fallbacks(catalogue: MessageCatalogue) -> None:
    assert catalogue.chain("pt-BR") == ("pt", "en")
    assert catalogue.chain("de_AT") == ("de", "en")
    assert catalogue.chain("xx") == ("en",)
    assert catalogue.chain(None) == ("en",)
    assert catalogue.chain("<script>alert(1)</script>") == ("en",)
    assert catalogue.resolve("FR-ca") == "fr"
    assert normalise_locale("pt_BR") == "pt-br"
    assert normalise_locale("a very long query text") is None


def test_context_message_falls_back_within_the_locale_first(catalogue: MessageCatalogue) -> None:
    assert catalogue.message("de", context="search").id == "deterrence.search"
    chat = catalogue.message("de", context="chat")
    assert (chat.id, chat.locale) == ("deterrence.default", "de")
    assert catalogue.message("de", "deterrence.unknown").id == "deterrence.default"


def test_accept_language(catalogue: MessageCatalogue) -> None:
    assert catalogue.negotiate("fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert catalogue.negotiate("xx, nl;q=0.4") == "nl"
    assert catalogue.negotiate("en-GB,de;q=0.9") == "en"
    assert catalogue.negotiate("de;q=0, it;q=0.2") == "it"
    assert catalogue.negotiate("") == "en"
    assert catalogue.negotiate("garbage;;;,,") == "en"


def test_strings_fall_back_to_english(catalogue: MessageCatalogue) -> None:
    assert catalogue.string("trace.send", "de") == "Anonym senden"
    assert catalogue.string("trace.send", "xx") == "Send anonymously"
    assert catalogue.string("no.such.key", "de") == "no.such.key"
    assert catalogue.strings("fr", prefix="audience.").keys() == {
        "audience.self",
        "audience.parents",
        "audience.survivors",
        "audience.professionals",
    }


def test_operator_catalogue_adds_locales_and_replaces_wording(tmp_path: Path) -> None:
    (tmp_path / "sv.toml").write_text(
        """
locale = "sv"
name = "Svenska"
version = 1
[messages."deterrence.default"]
title = "Hjälp finns"
body = "Text."
help = "Prata:"
action = "Hitta hjälp"
""",
        encoding="utf-8",
    )
    (tmp_path / "de.toml").write_text(
        """
locale = "de"
version = 7
[messages."deterrence.search"]
title = "Eigener Titel"
body = "Eigener Text."
help = "Hilfe:"
action = "Los"
[strings]
"trace.send" = "Absenden"
""",
        encoding="utf-8",
    )
    c = MessageCatalogue(tmp_path)
    assert c.locales["sv"] == "Svenska"
    assert c.message("sv-FI").title == "Hjälp finns"
    search = c.message("de", context="search")
    assert (search.title, search.version) == ("Eigener Titel", 7)
    default = c.message("de")
    assert default.version == 1  # untouched messages keep their version
    assert c.string("trace.send", "de") == "Absenden"
    assert "de:7" in c.version


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ("version = 1\n", "'locale' must be a language tag"),
        ("locale = 'sv'\n", "'version' must be a positive"),
        ("locale = 'sv'\nversion = 1\n[messages.x]\ntitle = 't'\n", "needs the text fields"),
        ("locale = 'sv'\nversion = 1\ndirection = 'up'\n", "direction"),
    ],
)
def test_bad_operator_catalogue_is_a_config_error(tmp_path: Path, doc: str, fragment: str) -> None:
    (tmp_path / "bad.toml").write_text(doc, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment):
        MessageCatalogue(tmp_path)


def test_default_locale_must_exist() -> None:
    with pytest.raises(ConfigError):
        MessageCatalogue(default_locale="xx")
    assert MessageCatalogue(default_locale="de").message("xx").locale == "de"
