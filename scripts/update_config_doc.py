"""Regenerate the settings table in docs/configuration.md from ``ohsc settings --markdown``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def main() -> None:
    table = subprocess.run(
        [sys.executable, "-m", "ohsc.cli", "settings", "--markdown"],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "OHSC_HOME": "~/.ohsc"},
    ).stdout
    text = DOC.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{table}{END}{tail}")


if __name__ == "__main__":
    main()
