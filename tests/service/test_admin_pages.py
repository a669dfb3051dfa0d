"""The administration pages without a browser: who may reach them, and the refusals and edge
cases of users, API keys, rules and policies, webhooks and exchanges (each a library call)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from svc_helpers import PASSWORD, Env, make_env

from ohsc.accounts.roles import Role
from ohsc.actions.models import OutboxRow
from ohsc.cli import main
from ohsc.exchanges.service import ExchangeService
from ohsc.settings import load_settings
from ohsc.store.models import AuditEvent

ADMIN_GETS = ("/admin/users", "/admin/keys", "/admin/rules", "/admin/webhooks", "/admin/exchanges")
ADMIN_POSTS = (
    "/admin/users",
    "/admin/users/ann",
    "/admin/keys",
    "/admin/keys/1/revoke",
    "/admin/rules",
    "/admin/rules/1",
    "/admin/rules/1/delete",
    "/admin/rules/policies/1",
    "/admin/rules/policies/1/reset",
    "/admin/webhooks",
    "/admin/webhooks/1/test",
    "/admin/webhooks/1/enabled",
    "/admin/webhooks/1/delete",
    "/admin/exchanges",
    "/admin/exchanges/x/sync",
    "/admin/exchanges/x/reset",
    "/admin/exchanges/x/remove",
    "/admin/exchanges/feeds",
    "/admin/exchanges/feeds/unpublish",
)


@pytest.fixture
def aenv(tmp_path: Path, db_url: str) -> Iterator[Env]:
    """API keys cached for a minute (a revoked key must still stop at once); loopback webhooks."""
    settings = load_settings(
        home=tmp_path / "home", database_url=db_url, apikey_cache_seconds=60, egress_allow="127.0.0.1/32"
    )
    yield from make_env(settings)


def _client(env: Env, name: str, role: Role) -> tuple[TestClient, str]:
    env.user(name, role)
    client = TestClient(env.app, base_url="http://testserver")
    return client, env.login(client, name)


def _admin(env: Env) -> tuple[TestClient, str]:
    client, _ = _client(env, "root", Role.ADMIN)
    page = client.get("/admin/users")
    return client, page.text.split('data-csrf="', 1)[1].split('"', 1)[0]


def _actions(env: Env, prefix: str) -> list[tuple[str, str]]:
    with env.store.session() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.action.like(prefix + "%")).order_by(AuditEvent.id)
        )
        return [(r.action, r.actor) for r in rows]


def test_other_roles_cannot_reach_the_admin_pages(env: Env) -> None:
    for role in (Role.REVIEWER, Role.AUDITOR, Role.REPORTER):
        client, token = _client(env, f"u-{role.value}", role)
        home = client.get("/review" if role is not Role.AUDITOR else "/audit")
        assert home.status_code == 200
        for path in ADMIN_GETS:
            assert f'href="{path}"' not in home.text
            assert client.get(path).status_code == 403, path
        for path in ADMIN_POSTS:
            r = client.post(
                path, data={"csrf_token": token, "name": "x", "role": "admin"}, follow_redirects=False
            )
            assert r.status_code == 403, path
    assert env.services.accounts.get_user("u-reviewer").role is Role.REVIEWER
    anonymous = TestClient(env.app, base_url="http://testserver")
    assert anonymous.get("/admin/users", follow_redirects=False).status_code in (303, 401)


def test_admin_sees_the_links(env: Env) -> None:
    client, _ = _admin(env)
    page = client.get("/admin/users")
    for path in ADMIN_GETS:
        assert f'href="{path}"' in page.text


def test_users_create_change_refuse(env: Env) -> None:
    client, token = _admin(env)
    r = client.post(
        "/admin/users", data={"csrf_token": token, "name": "ann", "role": "reviewer", "password": "short"}
    )
    assert r.status_code == 400 and 'id="form-error"' in r.text
    r = client.post(
        "/admin/users", data={"csrf_token": token, "name": "ann", "role": "reviewer", "password": PASSWORD}
    )
    assert r.status_code == 200 and "Created reviewer ann." in r.text
    dup = client.post(
        "/admin/users", data={"csrf_token": token, "name": "ann", "role": "auditor", "password": PASSWORD}
    )
    assert dup.status_code == 400 and "already exists" in dup.text
    client.post("/admin/users/ann", data={"csrf_token": token, "role": "auditor"})
    assert env.services.accounts.get_user("ann").role is Role.AUDITOR
    client.post("/admin/users/ann", data={"csrf_token": token, "enabled": "no"})
    assert not env.services.accounts.get_user("ann").enabled
    # an admin cannot lock themselves out
    me = client.post("/admin/users/root", data={"csrf_token": token, "enabled": "no"})
    assert me.status_code == 400 and "ask another admin" in me.text
    me = client.post("/admin/users/root", data={"csrf_token": token, "role": "reviewer"})
    assert me.status_code == 400 and env.services.accounts.get_user("root").role is Role.ADMIN
    missing = client.post("/admin/users/nobody", data={"csrf_token": token, "role": "auditor"})
    assert missing.status_code == 400 and "no user" in missing.text
    assert client.post("/admin/users/ann", data={"role": "admin"}).status_code == 403  # no CSRF token
    assert [a for a in _actions(env, "user.") if a[0] != "user.create" or a[1] != "web"] == [
        ("user.create", "user:root"),
        ("user.update", "user:root"),
        ("user.update", "user:root"),
    ]


def test_key_shown_once_and_revoked_at_once(aenv: Env) -> None:
    env = aenv
    client, token = _admin(env)
    empty = client.post("/admin/keys", data={"csrf_token": token, "name": "platform"})
    assert empty.status_code == 400 and "at least one scope" in empty.text
    r = client.post(
        "/admin/keys", data={"csrf_token": token, "name": "platform", "scopes": ["match", "review"]}
    )
    secret = re.search(r'<code id="secret">(ohsc_[^<]+)</code>', r.text)
    assert secret is not None
    assert r.headers["cache-control"] == "no-store"
    assert secret.group(1) not in client.get("/admin/keys").text
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    assert env.client.get("/v1/review-items", headers=headers).status_code == 200
    key_id = env.services.accounts.check_api_key(secret.group(1)).key_id
    assert env.services.accounts.cached_client(secret.group(1)) is not None  # cached for a minute
    r = client.post(f"/admin/keys/{key_id}/revoke", data={"csrf_token": token})
    assert "Revoked API key platform" in r.text
    assert env.client.get("/v1/review-items", headers=headers).status_code == 401
    assert ("apikey.revoke", "user:root") in _actions(env, "apikey.")


def test_rules_validation_edit_delete_and_policies(env: Env) -> None:
    client, token = _admin(env)
    env.bank("known")
    long = client.post("/admin/rules", data={"csrf_token": token, "verdict": "block", "category": "c" * 101})
    assert long.status_code == 400
    assert "category: String should have at most 100 characters" in long.text
    bad = client.post("/admin/rules", data={"csrf_token": token, "verdict": "destroy"})
    assert bad.status_code == 400 and "verdict: Input should be" in bad.text
    unknown = client.post("/admin/rules", data={"csrf_token": token, "verdict": "block", "bank": "nope"})
    assert unknown.status_code == 400 and "nope" in unknown.text
    ok = client.post(
        "/admin/rules", data={"csrf_token": token, "verdict": "block", "bank": "known", "notify": "on"}
    )
    assert "Created rule 1." in ok.text
    clash = client.post("/admin/rules", data={"csrf_token": token, "verdict": "allow", "bank": "known"})
    assert clash.status_code == 409 or (clash.status_code == 400 and "already covers" in clash.text)
    assert "already covers" in clash.text
    client.post("/admin/rules/1", data={"csrf_token": token, "verdict": "review", "review": "on"})
    rule = env.services.actions("t").get_rule(1)
    assert (rule.verdict.value, rule.review, rule.notify) == ("review", True, False)
    assert client.get("/admin/rules/1").status_code == 200
    assert client.get("/admin/rules/99").status_code == 404
    bank_id = env.services.banks("t").get_bank("known").id
    p = client.post(
        f"/admin/rules/policies/{bank_id}", data={"csrf_token": token, "flood_window_seconds": "0"}
    )
    assert (
        p.status_code == 400 and "flood window seconds: Input should be greater than or equal to 1" in p.text
    )
    p = client.post(
        f"/admin/rules/policies/{bank_id}",
        data={
            "csrf_token": token,
            "flood_max_matches": "5",
            "flood_window_seconds": "60",
            "two_person_review": "on",
        },
    )
    policy = env.services.actions("t").get_policy(bank_id)
    assert (policy.two_person_review, policy.flood_max_matches, policy.flood_window_seconds) == (True, 5, 60)
    client.post(f"/admin/rules/policies/{bank_id}/reset", data={"csrf_token": token})
    assert env.services.actions("t").list_policies() == []
    client.post("/admin/rules/1/delete", data={"csrf_token": token})
    assert env.services.actions("t").list_rules() == []
    assert [a for a, _ in _actions(env, "rule.")] == ["rule.create", "rule.update", "rule.delete"]
    assert ("bank.policy_reset", "user:root") in _actions(env, "bank.policy")


def test_webhooks_refused_address_test_event_and_log(aenv: Env) -> None:
    env = aenv
    client, token = _admin(env)
    refused = client.post(
        "/admin/webhooks", data={"csrf_token": token, "name": "x", "url": "http://10.1.2.3/h"}
    )
    assert refused.status_code == 400 and "OHSC_EGRESS_ALLOW" in refused.text
    assert 'value="http://10.1.2.3/h"' in refused.text  # the form keeps what was typed
    r = client.post(
        "/admin/webhooks",
        data={
            "csrf_token": token,
            "name": "siem",
            "url": "http://127.0.0.1:9/h",
            "events": ["match.created"],
        },
    )
    assert r.status_code == 200 and '<code id="secret">' in r.text
    hook = env.services.webhooks("t").list_webhooks()[0]
    assert hook.event_types == ("match.created",)
    client.post(f"/admin/webhooks/{hook.id}/test", data={"csrf_token": token})
    with env.store.session() as s:
        assert [o.event_type for o in s.scalars(select(OutboxRow))] == ["webhook.test"]
    page = client.get(f"/admin/webhooks/{hook.id}")
    assert "No deliveries yet." in page.text
    client.post(f"/admin/webhooks/{hook.id}/enabled", data={"csrf_token": token, "enabled": "no"})
    assert client.post(f"/admin/webhooks/{hook.id}/test", data={"csrf_token": token}).status_code == 422
    client.post(f"/admin/webhooks/{hook.id}/delete", data={"csrf_token": token})
    assert client.get(f"/admin/webhooks/{hook.id}").status_code == 404
    assert [a for a, _ in _actions(env, "webhook.")] == [
        "webhook.create",
        "webhook.test",
        "webhook.update",
        "webhook.delete",
    ]


def test_exchanges_refusals_never_echo_secrets(env: Env) -> None:
    client, token = _admin(env)
    env.bank("incoming")
    base = {"csrf_token": token, "name": "partner", "kind": "ohsc-feed", "into": "incoming"}
    missing = client.post("/admin/exchanges", data={**base, "api_key": "ohsc_zzsecretzz"})
    assert missing.status_code == 400 and "needs: url, bank, public_key" in missing.text
    assert "ohsc_zzsecretzz" not in missing.text
    badkind = client.post("/admin/exchanges", data={**base, "kind": "carrier-pigeon"})
    assert badkind.status_code == 400 and "unknown exchange kind" in badkind.text
    badextra = client.post("/admin/exchanges", data={**base, "extra": "no equals sign"})
    assert badextra.status_code == 400 and "KEY=VALUE" in badextra.text
    node_key = client.get("/admin/exchanges").text.split('id="node-key">', 1)[1].split("<")[0]
    ok = client.post(
        "/admin/exchanges",
        data={
            **base,
            "url": "http://127.0.0.1:9",
            "bank": "shared",
            "public_key": node_key,
            "api_key": "ohsc_" + "k" * 40,
            "interval": "0",
        },
    )
    assert "Added exchange partner." in ok.text
    assert "ohsc_kkkk" not in ok.text
    assert client.post("/admin/exchanges/nope/sync", data={"csrf_token": token}).status_code == 404
    sync = client.post("/admin/exchanges/partner/sync", data={"csrf_token": token})
    assert "Sync of partner started." in sync.text
    exchanges = ExchangeService(env.store, env.settings)
    deadline = time.monotonic() + 30
    while exchanges.get("partner").last_error is None:  # nobody listens there: the sync fails
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "is a loopback address" in client.get("/admin/exchanges").text
    client.post("/admin/exchanges/partner/remove", data={"csrf_token": token})
    assert "No exchanges." in client.get("/admin/exchanges").text
    assert [a for a, _ in _actions(env, "exchange.")] == [
        "exchange.add",
        "exchange.sync.failed",
        "exchange.remove",
    ]


def test_webhook_test_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    env = {"OHSC_HOME": str(home), "OHSC_EGRESS_ALLOW": "127.0.0.1/32"}
    r = runner.invoke(main, ["webhook", "create", "siem", "http://127.0.0.1:9/h"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["webhook", "test", "1"], env=env)
    assert r.exit_code == 0, r.output
    assert "queued test event" in r.output
    assert runner.invoke(main, ["webhook", "test", "7"], env=env).exit_code != 0


def test_rule_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"OHSC_HOME": str(tmp_path / "home")}
    assert runner.invoke(main, ["bank", "create", "known"], env=env).exit_code == 0
    r = runner.invoke(main, ["rule", "create", "--bank", "known", "--verdict", "block"], env=env)
    assert r.exit_code == 0 and "created rule 1: block" in r.output, r.output
    clash = runner.invoke(main, ["rule", "create", "--bank", "known", "--verdict", "allow"], env=env)
    assert clash.exit_code != 0 and "already covers" in clash.output
    r = runner.invoke(main, ["rule", "update", "1", "--verdict", "review", "--no-notify"], env=env)
    assert r.exit_code == 0 and "rule 1: review" in r.output
    assert '"verdict":"review"' in runner.invoke(main, ["rule", "list", "--json"], env=env).output.replace(
        " ", ""
    )
    r = runner.invoke(main, ["rule", "policy", "known", "--two-person", "--flood-max", "5"], env=env)
    assert r.exit_code == 0 and "two-person review True, flood 5 per default s" in r.output, r.output
    assert "flood 5" in runner.invoke(main, ["rule", "policies"], env=env).output
    r = runner.invoke(main, ["rule", "reset-policy", "known"], env=env)
    assert r.exit_code == 0 and "two-person review False" in r.output
    assert runner.invoke(main, ["rule", "policies"], env=env).output.strip() == ""
    assert runner.invoke(main, ["rule", "delete", "1"], env=env).exit_code == 0
    assert runner.invoke(main, ["rule", "delete", "1"], env=env).exit_code != 0
