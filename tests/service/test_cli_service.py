"""`ohsc user create`, `ohsc apikey create` (the key alone on stdout), `ohsc purge`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ohsc.accounts.service import AccountService
from ohsc.cli import main
from ohsc.settings import load_settings
from ohsc.store.db import Store


def test_user_and_key_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"OHSC_HOME": str(tmp_path / "home")}
    r = runner.invoke(
        main, ["user", "create", "root", "--role", "admin"], input="a long admin password\n", env=env
    )
    assert r.exit_code == 0, r.output
    assert "created admin root" in r.output
    again = runner.invoke(
        main, ["user", "create", "root", "--role", "admin"], input="a long admin password\n", env=env
    )
    assert again.exit_code != 0
    assert "already exists" in again.output
    short = runner.invoke(main, ["user", "create", "bob", "--role", "reviewer"], input="short\n", env=env)
    assert short.exit_code == 2
    r = runner.invoke(main, ["apikey", "create", "platform", "--scope", "match"], env=env)
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert key.startswith("ohsc_")
    assert "\n" not in key
    settings = load_settings(home=tmp_path / "home")
    store = Store.from_settings(settings)
    try:
        accounts = AccountService(store, settings)
        assert accounts.check_api_key(key).name == "platform"
        assert accounts.authenticate("root", "a long admin password").name == "root"
    finally:
        store.dispose()
    listed = runner.invoke(main, ["apikey", "list", "--json"], env=env)
    assert '"prefix"' in listed.output
    assert key not in listed.output
    revoked = runner.invoke(main, ["apikey", "revoke", key[:13]], env=env)
    assert revoked.exit_code == 0
    assert "revoked" in revoked.output
    users = runner.invoke(main, ["user", "list"], env=env)
    assert "root" in users.output
    assert runner.invoke(main, ["user", "update", "root", "--disable"], env=env).exit_code == 0
    purge = runner.invoke(main, ["purge", "--json"], env=env)
    assert purge.exit_code == 0
    assert '"media_deleted": 0' in purge.output
