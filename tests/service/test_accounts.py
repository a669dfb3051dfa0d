"""Accounts: argon2 passwords, login limits, sessions with expiry, hashed scoped API keys; audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from svc_helpers import PASSWORD

from ohsc.accounts.models import ApiKeyRow, UserRow, WebSessionRow
from ohsc.accounts.ratelimit import FailureWindow, TokenBucket
from ohsc.accounts.roles import Role, Scope, parse_scope
from ohsc.accounts.service import AccountService
from ohsc.accounts.sessions import SessionService
from ohsc.errors import (
    AuthenticationError,
    InvalidInputError,
    RateLimitedError,
    SessionExpiredError,
    UserExistsError,
)
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent


def _actions(store: Store) -> list[str]:
    with store.session() as s:
        return [e.action for e in s.query(AuditEvent).order_by(AuditEvent.seq)]


def test_users_and_passwords(store: Store, settings: Settings) -> None:
    accounts = AccountService(store, settings)
    user = accounts.create_user("alice", "reviewer", PASSWORD)
    assert user.role is Role.REVIEWER
    with store.session() as s:
        encoded = s.get(UserRow, user.id).password_hash  # type: ignore[union-attr]
        assert encoded.startswith("$argon2id$")
        assert PASSWORD not in encoded
    with pytest.raises(UserExistsError):
        accounts.create_user("alice", "admin", PASSWORD)
    with pytest.raises(InvalidInputError):
        accounts.create_user("bob", "reviewer", "short")
    with pytest.raises(InvalidInputError):
        accounts.create_user("bob", "overlord", PASSWORD)
    with pytest.raises(InvalidInputError):
        accounts.create_user("bad name!", "reviewer", PASSWORD)
    assert accounts.authenticate("alice", PASSWORD, address="127.0.0.1").name == "alice"
    with pytest.raises(AuthenticationError):
        accounts.authenticate("alice", "wrong password!", address="127.0.0.1")
    with pytest.raises(AuthenticationError):
        accounts.authenticate("nobody", PASSWORD, address="127.0.0.1")
    accounts.update_user("alice", enabled=False)
    with pytest.raises(AuthenticationError):
        accounts.authenticate("alice", PASSWORD, address="127.0.0.1")
    assert _actions(store) == [
        "user.create",
        "auth.login",
        "auth.login_failed",
        "auth.login_failed",
        "user.update",
        "auth.login_failed",
    ]


def test_login_failures_are_limited(store: Store, tmp_path: object) -> None:
    from pathlib import Path

    from ohsc.settings import load_settings

    settings = load_settings(home=Path(str(tmp_path)) / "h", login_max_failures=3)
    accounts = AccountService(store, settings)
    accounts.create_user("alice", "reviewer", PASSWORD)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("alice", "wrong password!", address="10.0.0.1")
    with pytest.raises(RateLimitedError) as caught:
        accounts.authenticate("alice", PASSWORD, address="10.0.0.2")  # even the right password waits
    assert caught.value.retry_after > 0


def test_rate_limiters_with_a_fake_clock() -> None:
    now = [0.0]
    window = FailureWindow(2, 60, clock=lambda: now[0])
    window.fail("k")
    window.fail("k")
    with pytest.raises(RateLimitedError):
        window.check("k")
    now[0] = 61
    window.check("k")
    bucket = TokenBucket(60, clock=lambda: now[0])  # 1/s, burst 10
    for _ in range(10):
        bucket.take("a")
    with pytest.raises(RateLimitedError):
        bucket.take("a")
    bucket.take("b")
    now[0] += 1
    bucket.take("a")


def test_api_keys_hashed_scoped_revocable(store: Store, settings: Settings) -> None:
    accounts = AccountService(store, settings.model_copy(update={"apikey_cache_seconds": 0}))
    created = accounts.create_api_key("platform", ["match-only", "review"])
    assert created.secret.startswith("ohsc_")
    assert len(created.secret) > 40
    assert set(created.key.scopes) == {Scope.MATCH, Scope.REVIEW}
    with store.session() as s:
        row = s.get(ApiKeyRow, created.key.id)
        assert row is not None
        assert created.secret not in (row.key_hash, row.prefix)
    client = accounts.check_api_key(created.secret)
    assert client.has(Scope.MATCH)
    assert not client.has(Scope.BANK_ADMIN)
    with pytest.raises(AuthenticationError):
        accounts.check_api_key(created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B"))
    accounts.revoke_api_key(created.key.prefix)
    with pytest.raises(AuthenticationError):
        accounts.check_api_key(created.secret)
    with pytest.raises(InvalidInputError):
        accounts.create_api_key("x", [])
    with pytest.raises(InvalidInputError):
        parse_scope("everything")
    assert _actions(store) == ["apikey.create", "apikey.revoke"]


def test_sessions_expire(store: Store, settings: Settings) -> None:
    accounts = AccountService(store, settings)
    user = accounts.create_user("alice", "reviewer", PASSWORD)
    sessions = SessionService(store, settings)
    token = sessions.start(user)
    loaded = sessions.load(token)
    assert loaded.user.name == "alice"
    assert len(loaded.csrf_token) > 20
    with store.session() as s:
        row = s.query(WebSessionRow).one()
        assert row.id != token  # only a hash of the cookie is stored
        row.last_seen_at = row.last_seen_at - timedelta(minutes=settings.session_idle_minutes + 1)
    with pytest.raises(SessionExpiredError):
        sessions.load(token)
    with pytest.raises(AuthenticationError):
        sessions.load(token)  # and it is gone
    token = sessions.start(user)
    with store.session() as s:
        row = s.query(WebSessionRow).one()
        row.created_at = row.created_at - timedelta(hours=settings.session_max_hours + 1)
    with pytest.raises(SessionExpiredError):
        sessions.load(token)
    token = sessions.start(user)
    accounts.update_user("alice", password="another long password")
    with pytest.raises(AuthenticationError):
        sessions.load(token)  # a new password ends every session
