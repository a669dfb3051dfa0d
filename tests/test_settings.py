"""Settings are declared data, validated at start-up and documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohsc.errors import ConfigError
from ohsc.settings import Settings, load_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path)
    assert s.effective_database_url() == f"sqlite:///{tmp_path / 'ohsc.db'}"
    assert s.pdq_threshold == 31 and s.hash_mode == "fast"


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OHSC_PDQ_QUALITY_MIN", "150")
    with pytest.raises(ConfigError, match="OHSC_PDQ_QUALITY_MIN"):
        load_settings()
    monkeypatch.delenv("OHSC_PDQ_QUALITY_MIN")
    monkeypatch.setenv("OHSC_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="OHSC_DATABASE_URL"):
        load_settings()


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [
        f"OHSC_{name.upper()}" for name in Settings.model_fields if f"`OHSC_{name.upper()}`" not in text
    ]
    assert not missing, f"add to docs/configuration.md (ohsc settings --markdown): {missing}"
