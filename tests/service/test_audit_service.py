"""Audit: logins, key creation, reveals, decisions, exports are events; `ohsc audit verify` finds
a changed, removed or reordered event and names it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import delete, update
from svc_helpers import Env

from ohsc.cli import main
from ohsc.review.model import Choice, Reviewer
from ohsc.store.models import AuditEvent, Counter


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


def _cli_env(env: Env) -> dict[str, str]:
    return {"OHSC_DATABASE_URL": env.settings.effective_database_url(), "OHSC_HOME": str(env.settings.home)}


def test_checkpoints_from_the_command_line(env: Env, tmp_path: Path) -> None:
    """`ohsc audit checkpoint -o FILE`, then `ohsc audit verify --checkpoint FILE`: passes while the
    log reaches the checkpoint unchanged, fails (exit 7, a clear message) once it was cut back."""
    for name in ("a", "b", "c"):
        env.bank(name)
    runner = CliRunner()
    cp = tmp_path / "checkpoint.json"
    made = runner.invoke(main, ["audit", "checkpoint", "-o", str(cp)], env=_cli_env(env))
    assert made.exit_code == 0, made.output
    seq = json.loads(cp.read_text())["seq"]
    assert f"event #{seq}" in made.output
    again = runner.invoke(main, ["audit", "checkpoint", "-o", str(cp)], env=_cli_env(env))
    assert again.exit_code != 0 and "--force" in again.output

    ok = runner.invoke(main, ["audit", "verify", "--checkpoint", str(cp)], env=_cli_env(env))
    assert ok.exit_code == 0, ok.output
    assert f"#{seq} matches" in ok.output and "intact" in ok.output

    public = runner.invoke(main, ["audit", "public-key"], env=_cli_env(env)).output.strip()
    with env.store.session() as s:  # cut the log back below the checkpoint, counter included
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= seq - 1))
        s.execute(update(Counter).where(Counter.name == "audit_seq").values(value=seq - 2))
    cut = runner.invoke(
        main, ["audit", "verify", "--checkpoint", str(cp), "--public-key", public], env=_cli_env(env)
    )
    assert cut.exit_code == 7, cut.output
    assert f"vouches for event #{seq}" in cut.output and "events were removed" in cut.output


def test_cli_and_web_verify_leave_the_same_event(env: Env) -> None:
    env.user("audra", "auditor")
    env.login(env.client, "audra")
    csrf = env.client.get("/audit").text.split('data-csrf="', 1)[1].split('"', 1)[0]
    page = env.client.post("/audit/verify", data={"csrf_token": csrf}, headers={"HX-Request": "true"})
    assert "Intact" in page.text
    assert CliRunner().invoke(main, ["audit", "verify"], env=_cli_env(env)).exit_code == 0
    with env.store.session() as s:
        events = (
            s.query(AuditEvent).filter(AuditEvent.action == "audit.verify").order_by(AuditEvent.seq).all()
        )
    assert [e.actor.split(":")[0] for e in events] == ["user", "cli"]
    assert sorted(events[0].details) == sorted(events[1].details)


def test_truncation_is_named_by_the_command_line(env: Env) -> None:
    for name in ("a", "b"):
        env.bank(name)
    with env.store.session() as s:
        last = s.query(AuditEvent).order_by(AuditEvent.seq.desc()).first()
        assert last is not None
        s.execute(delete(AuditEvent).where(AuditEvent.seq == last.seq))
    result = CliRunner().invoke(main, ["audit", "verify"], env=_cli_env(env))
    assert result.exit_code == 7
    assert f"ends at #{last.seq - 1}" in result.output and "removed" in result.output
