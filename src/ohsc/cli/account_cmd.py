"""``ohsc user ...`` and ``ohsc apikey ...``: people who log in, and machine clients' keys."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.table import Table

from ohsc.accounts.roles import Role, Scope
from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json
from ohsc.errors import InvalidInputError

ROLE_NAMES = [r.value for r in Role]

if TYPE_CHECKING:
    from ohsc.accounts.service import AccountService


def _accounts(app: App) -> AccountService:
    from ohsc.accounts.service import AccountService

    return AccountService(app.store, app.settings, actor=app.actor)


def _read_password(confirm: bool = True) -> str:
    if sys.stdin.isatty():
        value: str = click.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True)
        return value
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise InvalidInputError("no password on stdin")
    return line


@click.group("user")
def user() -> None:
    """People who log in to the review UI (roles: admin, reviewer, auditor, reporter, evidence_custodian, prevention_admin, investigator)."""


@user.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLE_NAMES), help="What they may do.")
@pass_app
def user_create(app: App, name: str, role: str) -> None:
    """Create a user; the password comes from a prompt, or from the first line of stdin."""
    created = _accounts(app).create_user(name, role, _read_password())
    out.print(f"created {created.role.value} [bold]{e(created.name)}[/] (id {created.id})")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def user_list(app: App, as_json: bool) -> None:
    """List users."""
    users = _accounts(app).list_users()
    if as_json:
        for u in users:
            print_json(u.to_dict())
        return
    table = Table("id", "name", "role", "enabled", "last login")
    for u in users:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-"
        table.add_row(str(u.id), e(u.name), u.role.value, "yes" if u.enabled else "no", last)
    out.print(table)


@user.command("set-password")
@click.argument("name")
@pass_app
def user_password(app: App, name: str) -> None:
    """Set a new password (prompt or stdin); their sessions end."""
    _accounts(app).update_user(name, password=_read_password())
    out.print(f"password of {e(name)} changed")


@user.command("update")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLE_NAMES))
@click.option("--enable/--disable", default=None)
@pass_app
def user_update(app: App, name: str, role: str | None, enable: bool | None) -> None:
    """Change a user's role, or disable them (their sessions end)."""
    changed = _accounts(app).update_user(name, role=role, enabled=enable)
    out.print(f"{e(changed.name)}: {changed.role.value}, {'enabled' if changed.enabled else 'disabled'}")


@click.group("apikey")
def apikey() -> None:
    """API keys of machine clients (scopes: match, bank-admin, review, deterrence, report)."""


@apikey.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    # every scope the server knows (a hand-written list left out "report", which the docs name)
    type=click.Choice([*(s.value for s in Scope), "match-only"]),
    help="What the key may do (repeatable).",
)
@pass_app
def apikey_create(app: App, name: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print it once, alone on stdout. Only a hash is stored."""
    created = _accounts(app).create_api_key(name, scopes)
    err.print(
        f"created API key {e(created.key.name)} ({e(created.key.prefix)}..., scopes "
        f"{', '.join(s.value for s in created.key.scopes)}); it is shown only now:"
    )
    sys.stdout.write(created.secret + "\n")
    sys.stdout.flush()


@apikey.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def apikey_list(app: App, as_json: bool) -> None:
    """List keys (prefixes only; secrets are never stored)."""
    keys = _accounts(app).list_api_keys()
    if as_json:
        for k in keys:
            print_json(k.to_dict())
        return
    table = Table("id", "name", "prefix", "scopes", "last used", "state")
    for k in keys:
        last = k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "-"
        state = "revoked" if k.revoked_at else "active"
        table.add_row(str(k.id), e(k.name), k.prefix, ", ".join(s.value for s in k.scopes), last, state)
    out.print(table)


@apikey.command("revoke")
@click.argument("key")
@pass_app
def apikey_revoke(app: App, key: str) -> None:
    """Revoke a key by id or prefix (servers stop accepting it within OHSC_APIKEY_CACHE_SECONDS)."""
    revoked = _accounts(app).revoke_api_key(key)
    out.print(f"revoked {e(revoked.name)} ({revoked.prefix})")
