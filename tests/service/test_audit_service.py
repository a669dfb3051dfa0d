"""Audit: logins, key creation, reveals, decisions, exports are events; `ohsc audit verify` finds
a changed, removed or reordered event and names it."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import delete, update
from svc_helpers import Env

from ohsc.cli import main
from ohsc.review.model import Choice, Reviewer
from ohsc.store.models import AuditEvent


def _actions(env: Env) -> list[str]:
    with env.store.session() as s:
        return [e.action for e in s.query(AuditEvent).order_by(AuditEvent.seq)]


def test_service_actions_are_audited_and_tampering_is_named(sqlite_env: Env) -> None:
    env = sqlite_env
    env.user("alice")
    env.login(env.client, "alice")
    env.bank("known")
    env.add_image("known", 70)
    item_id = env.match_image(70)["review_item_id"]
    alice = Reviewer.of_user(env.services.accounts.get_user("alice"))
    env.services.review.claim(item_id, alice)
    env.services.review.reveal(item_id, alice)
    env.services.review.decide(item_id, alice, Choice.CONFIRM)
    env.client.get("/v1/banks/known/export?format=csv", headers=env.key())
    actions = _actions(env)
    for expected in ("user.create", "auth.login", "apikey.create", "bank.create", "bank.entries.add",
                     "content.match", "media.reveal", "review.decide", "bank.export"):  # fmt: skip
        assert expected in actions, expected

    runner = CliRunner()
    cli_env = {
        "OHSC_DATABASE_URL": env.settings.effective_database_url(),
        "OHSC_HOME": str(env.settings.home),
    }
    ok = runner.invoke(main, ["audit", "verify"], env=cli_env)
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output

    with env.store.session() as s:  # change one event's details
        s.execute(
            update(AuditEvent)
            .where(AuditEvent.action == "media.reveal")
            .values(details={"target": "nothing"})
        )
    changed = runner.invoke(main, ["audit", "verify"], env=cli_env)
    assert changed.exit_code != 0
    seq = _seq(env, "media.reveal")
    assert f"event #{seq}" in changed.output
    assert "changed" in changed.output


def _seq(env: Env, action: str) -> int:
    with env.store.session() as s:
        return int(s.query(AuditEvent.seq).filter(AuditEvent.action == action).scalar() or 0)


def test_removed_and_reordered_events_are_named(sqlite_env: Env) -> None:
    env = sqlite_env
    for name in ("a", "b", "c", "d"):
        env.bank(name)
    runner = CliRunner()
    cli_env = {
        "OHSC_DATABASE_URL": env.settings.effective_database_url(),
        "OHSC_HOME": str(env.settings.home),
    }
    with env.store.session() as s:
        events = s.query(AuditEvent).order_by(AuditEvent.seq).all()
        target = events[2].seq
        s.execute(delete(AuditEvent).where(AuditEvent.seq == target))
    removed = runner.invoke(main, ["audit", "verify"], env=cli_env)
    assert removed.exit_code != 0
    assert f"#{target - 1} to #{target + 1}" in removed.output


def test_reordered_events_are_named(sqlite_env: Env) -> None:
    env = sqlite_env
    for name in ("a", "b", "c"):
        env.bank(name)
    with env.store.session() as s:
        events = s.query(AuditEvent).order_by(AuditEvent.seq).all()
        first, second = events[-2], events[-1]
        a, b = first.seq, second.seq
        s.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(seq=-1))
        s.execute(update(AuditEvent).where(AuditEvent.id == second.id).values(seq=a))
        s.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(seq=b))
    result = CliRunner().invoke(
        main,
        ["audit", "verify"],
        env={"OHSC_DATABASE_URL": env.settings.effective_database_url(), "OHSC_HOME": str(env.settings.home)},
    )
    assert result.exit_code != 0
    assert f"event #{a}" in result.output
    assert "reordered" in result.output
