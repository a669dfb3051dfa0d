"""New passwords follow NIST SP 800-63B: long enough, not common or breached, not repetitive or
sequential, not containing the user name or the service's name; the library, the CLI and the
web page give the same clear reasons. Passwords here are invented."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from svc_helpers import PASSWORD, Env

from ohsc.accounts.service import AccountService
from ohsc.cli import main
from ohsc.errors import AuthenticationError, InvalidInputError
from ohsc.settings import load_settings
from ohsc.store.db import Store

#: password -> what the refusal says (with the minimum length lowered to 10, so that each rule
#: other than length is what refuses it)
WEAK = {
    "aaaaaaaaaa": "repeats",  # the reproduction
    "abcabcabcabc": "repeats",
    "abcdefghijkl": "sequences",
    "9876543210": "sequences",
    "qwertyuiop": "common password",
    "password123": "common password",
    "iloveyou12345": "similar to a commonly used password",
    "Summer2024!": "too easy to guess",
    "alice-reviews-things": "user name",
    "my-OHSC-password-2": "service's name",
}


@pytest.fixture
def accounts(tmp_path: Path) -> AccountService:
    settings = load_settings(home=tmp_path / "home", password_min_length=10)
    return AccountService(Store.from_settings(settings), settings)


@pytest.mark.parametrize(("password", "reason"), list(WEAK.items()))
def test_weak_passwords_are_refused_with_a_reason(
    accounts: AccountService, password: str, reason: str
) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        accounts.create_user("alice", "reviewer", password)
    accounts.create_user("alice", "reviewer", PASSWORD)
    with pytest.raises(InvalidInputError, match=reason):
        accounts.update_user("alice", password=password)


def test_the_default_minimum_is_fifteen_characters(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    accounts = AccountService(Store.from_settings(settings), settings)
    with pytest.raises(InvalidInputError, match="at least 15 characters"):
        accounts.create_user("bob", "reviewer", "Kx9!mq2#Lp7$")
    accounts.create_user("bob", "reviewer", "correct horse battery staple")
    accounts.create_user("carol", "reviewer", "piano lantern oyster")  # spaces are fine
    assert accounts.authenticate("carol", "piano lantern oyster").name == "carol"


def test_cli_says_why_a_password_is_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"OHSC_HOME": str(tmp_path / "home")}
    r = runner.invoke(main, ["user", "create", "bob", "--role", "reviewer"], input="a" * 20 + "\n", env=env)
    assert r.exit_code == 2, r.output
    assert "too easy to guess: repeats like" in r.output
    short = runner.invoke(
        main, ["user", "create", "bob", "--role", "reviewer"], input="aaaaaaaaaa\n", env=env
    )
    assert short.exit_code == 2 and "at least 15 characters" in short.output
    ok = runner.invoke(main, ["user", "create", "bob", "--role", "reviewer"], input=PASSWORD + "\n", env=env)
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(main, ["user", "set-password", "bob"], input="bob-is-my-password\n", env=env)
    assert again.exit_code == 2 and "user name" in again.output


def test_people_change_their_own_password_on_the_web(sqlite_env: Env) -> None:
    env = sqlite_env
    env.user("alice")
    csrf = env.login(env.client, "alice")
    page = env.client.get("/account/password")
    assert page.status_code == 200 and "At least 15 characters" in page.text

    def post(current: str, new: str, confirm: str | None = None) -> object:
        return env.client.post(
            "/account/password",
            data={"csrf_token": csrf, "current": current, "new": new, "confirm": confirm or new},
            follow_redirects=False,
        )

    weak = post(PASSWORD, "aaaaaaaaaaaaaaaaaaaa")
    assert weak.status_code == 422  # type: ignore[attr-defined]
    assert "too easy to guess: repeats like" in weak.text  # type: ignore[attr-defined]
    named = post(PASSWORD, "alice in wonderland again")
    assert named.status_code == 422 and "may not contain the user name" in named.text  # type: ignore[attr-defined]
    differ = post(PASSWORD, "maple orbit trumpet", "maple orbit trumpets")
    assert "differ" in differ.text  # type: ignore[attr-defined]
    wrong = post("not the password at all", "maple orbit trumpet")
    assert wrong.status_code == 401 and "current password is wrong" in wrong.text  # type: ignore[attr-defined]
    done = post(PASSWORD, "maple orbit trumpet")
    assert done.status_code == 303 and done.headers["location"] == "/login?changed=1"  # type: ignore[attr-defined]
    assert "Your password was changed" in env.client.get("/login?changed=1").text
    with pytest.raises(AuthenticationError):
        env.services.accounts.authenticate("alice", PASSWORD)
    assert env.services.accounts.authenticate("alice", "maple orbit trumpet").name == "alice"
