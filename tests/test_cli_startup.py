"""The CLI starts fast: what ``import ohsc.cli``, ``ohsc --help`` and ``ohsc bank list`` load.

Deterministic (modules in ``sys.modules`` of a fresh interpreter, no timing); the figures are in
docs/benchmarks.md ("Command start-up").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from ohsc.cli import COMMANDS, SUMMARIES, main

#: Nothing of these for ``import ohsc.cli`` and ``ohsc --help``.
HEAVY = {
    "alembic",
    "argon2",
    "av",
    "cryptography",
    "faiss",
    "fastapi",
    "httpx",
    "jinja2",
    "llvmlite",
    "numba",
    "numpy",
    "pdqhash",
    "PIL",
    "pydantic",
    "pydantic_settings",
    "rich",
    "sqlalchemy",
    "starlette",
    "uvicorn",
}
#: What a command that only reads the store needs.
STORE = {"sqlalchemy", "pydantic", "rich"}

_PROBE = """
import json, sys
sys.argv = ["ohsc", *json.loads(sys.argv[1])]
from ohsc.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("\\n" + json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _loaded(tmp_path: Path, *args: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``ohsc ARGS`` in a fresh interpreter."""
    env = {**os.environ, "OHSC_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)], env=env, capture_output=True, text=True, timeout=120
    )
    result = json.loads(done.stdout.rsplit("\n", 2)[-2])
    assert result["code"] in (0, None), done.stderr
    return set(result["modules"])


def test_import_and_help_load_no_heavy_module(tmp_path: Path) -> None:
    env = {**os.environ, "OHSC_HOME": str(tmp_path / "home")}
    code = "import json, sys, ohsc.cli; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert HEAVY.isdisjoint(json.loads(done.stdout)), done.stdout
    loaded = _loaded(tmp_path, "--help")
    assert not HEAVY & loaded, sorted(HEAVY & loaded)
    assert not (tmp_path / "home").exists(), "--help must not create the data directory"


def test_bank_list_on_a_current_store_loads_only_the_store(tmp_path: Path) -> None:
    _loaded(tmp_path, "bank", "create", "known")  # creates and migrates the store
    loaded = _loaded(tmp_path, "bank", "list")
    assert not (HEAVY - STORE) & loaded, sorted((HEAVY - STORE) & loaded)


def test_every_command_has_a_summary_and_help_lists_it() -> None:
    assert set(SUMMARIES) == set(COMMANDS)
    ctx = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name


def test_the_cheap_schema_check_agrees_with_alembic(tmp_path: Path) -> None:
    """Heads read from the migration files are Alembic's; an older store is still migrated."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from ohsc.store.db import Store
    from ohsc.store.migrate import alembic_config, current_heads, downgrade, script_heads, up_to_date

    assert script_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        assert current_heads(conn) == frozenset() and not up_to_date(conn)
    Store(url).dispose()
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(next(iter(script_heads())))
    assert previous is not None and isinstance(previous.down_revision, str)
    with engine.begin() as conn:
        downgrade(conn, previous.down_revision)
        assert not up_to_date(conn)
    Store(url).dispose()  # opening it migrates it again
    with engine.begin() as conn:
        assert up_to_date(conn)
    engine.dispose()
