"""Users and API keys: create, check, list, revoke. Every change is an audit event."""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ohsc import audit
from ohsc.accounts.model import ApiClient, ApiKey, NewApiKey, User
from ohsc.accounts.models import ApiKeyRow, UserRow, WebSessionRow
from ohsc.accounts.passwords import check_policy, hash_password, needs_rehash, verify_password
from ohsc.accounts.ratelimit import FailureWindow
from ohsc.accounts.roles import Role, Scope, parse_role, parse_scope
from ohsc.errors import (
    ApiKeyNotFoundError,
    AuthenticationError,
    InvalidInputError,
    UserExistsError,
    UserNotFoundError,
)
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import ascii_int, utcnow

KEY_PREFIX = "ohsc_"
#: characters of the key kept in clear to find its row (``ohsc_`` + 8 random characters)
PREFIX_LENGTH = len(KEY_PREFIX) + 8


def _to_user(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        enabled=row.enabled,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


def _to_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(Scope(s) for s in row.scopes),
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _key_hash(secret: str) -> str:
    # API keys carry 256 random bits: a plain SHA-256 cannot be brute-forced, and is fast
    return hashlib.sha256(secret.encode()).hexdigest()


def _validate_user_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100 or not all(ch.isalnum() or ch in "._-@" for ch in name):
        raise InvalidInputError("a user name is 1 to 100 letters, digits or . _ - @")
    return name


class AccountService:
    """People (with roles and argon2 passwords) and machine clients (with hashed, scoped keys)."""

    def __init__(self, store: Store, settings: Settings, actor: str = "cli") -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.login_failures = FailureWindow(settings.login_max_failures, settings.login_window_seconds)
        self.address_failures = FailureWindow(settings.login_max_failures * 4, settings.login_window_seconds)
        self._key_cache: dict[str, tuple[float, str, ApiClient]] = {}
        self._cache_lock = threading.Lock()

    def for_actor(self, actor: str) -> AccountService:
        """The same service acting as ``actor`` (a web admin): it shares the login-failure windows
        and the API-key cache, so a key revoked through it stops working at once."""
        view = copy.copy(self)
        view.actor = actor
        return view

    # --- users -------------------------------------------------------------------------------

    def create_user(self, name: str, role: Role | str, password: str) -> User:
        name = _validate_user_name(name)
        role = parse_role(role) if isinstance(role, str) else role
        check_policy(password, user_name=name, min_length=self.settings.password_min_length)
        encoded = hash_password(password)
        try:
            with self.store.session() as s:
                if s.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
                    raise UserExistsError(f"user {name!r} already exists")
                row = UserRow(name=name, role=role.value, password_hash=encoded)
                s.add(row)
                s.flush()
                audit.record(
                    s,
                    actor=self.actor,
                    action="user.create",
                    object_type="user",
                    object_id=row.id,
                    details={"name": name, "role": role.value},
                )
                return _to_user(row)
        except IntegrityError as exc:
            raise UserExistsError(f"user {name!r} already exists") from exc

    def get_user(self, ref: str | int) -> User:
        with self.store.session() as s:
            row = (
                s.get(UserRow, ref)
                if isinstance(ref, int)
                else s.scalar(select(UserRow).where(UserRow.name == ref))
            )
            if row is None:
                raise UserNotFoundError(f"no user {ref!r}")
            return _to_user(row)

    def list_users(self) -> list[User]:
        with self.store.session() as s:
            return [_to_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    def update_user(
        self,
        name: str,
        *,
        role: Role | str | None = None,
        enabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        """Change a user's role, state or password; disabling or a new password ends their sessions."""
        if password is not None:
            check_policy(password, user_name=name, min_length=self.settings.password_min_length)
        with self.store.session() as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UserNotFoundError(f"no user {name!r}")
            if self.actor == f"user:{row.name}" and (
                enabled is False or (role is not None and role != row.role)
            ):
                raise InvalidInputError(
                    "you cannot disable yourself or change your own role: ask another admin"
                )
            changes: dict[str, object] = {}
            if role is not None:
                new_role = parse_role(role) if isinstance(role, str) else role
                if new_role.value != row.role:
                    row.role = new_role.value
                    changes["role"] = new_role.value
            if enabled is not None and enabled != row.enabled:
                row.enabled = enabled
                changes["enabled"] = enabled
            if password is not None:
                row.password_hash = hash_password(password)
                changes["password_changed"] = True
            if changes:
                row.updated_at = utcnow()
                if "password_changed" in changes or changes.get("enabled") is False or "role" in changes:
                    s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))
                audit.record(
                    s,
                    actor=self.actor,
                    action="user.update",
                    object_type="user",
                    object_id=row.id,
                    details=changes,
                )
            return _to_user(row)

    def change_password(self, name: str, current: str, new: str, *, address: str = "unknown") -> User:
        """A user changes their own password: the current one is checked first (failures count
        as failed logins), then the new one against the policy. Their sessions end."""
        user_key, addr_key = f"user:{name.strip().lower()}", f"addr:{address}"
        self.login_failures.check(user_key, "password checks for this user")
        with self.store.session() as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
            ok = verify_password(row.password_hash if row else None, current)
            if row is None or not ok or not row.enabled:
                self.login_failures.fail(user_key)
                self.address_failures.fail(addr_key)
                audit.record(
                    s,
                    actor=f"user:{name}",
                    action="user.password_change_failed",
                    object_type="user",
                    object_id=row.id if row is not None else None,
                    details={"reason": "wrong current password", "address": address},
                )
                failed = True
            else:
                failed = False
        if failed:
            raise AuthenticationError("the current password is wrong")
        if new == current:
            raise InvalidInputError("the new password is the same as the current one")
        check_policy(new, user_name=name, min_length=self.settings.password_min_length)
        encoded = hash_password(new)
        with self.store.session() as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
            if row is None:
                raise UserNotFoundError(f"no user {name!r}")
            row.password_hash = encoded
            row.updated_at = utcnow()
            s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))
            audit.record(
                s,
                actor=f"user:{name}",
                action="user.update",
                object_type="user",
                object_id=row.id,
                details={"password_changed": True, "by_user": True},
            )
            return _to_user(row)

    def authenticate(self, name: str, password: str, *, address: str = "unknown") -> User:
        """Check a password. Failures are counted per name and per address, and audited."""
        name = name.strip()[:100]
        user_key, addr_key = f"user:{name.lower()}", f"addr:{address}"
        self.login_failures.check(user_key, "logins for this user")
        self.address_failures.check(addr_key, "logins from this address")
        with self.store.session() as s:
            row = s.scalar(select(UserRow).where(UserRow.name == name))
            ok = verify_password(row.password_hash if row else None, password)
            if row is None or not ok or not row.enabled:
                self.login_failures.fail(user_key)
                self.address_failures.fail(addr_key)
                reason = "unknown user" if row is None else ("disabled" if ok else "wrong password")
                audit.record(
                    s,
                    actor=f"user:{name}" if row is not None else "anonymous",
                    action="auth.login_failed",
                    object_type="user",
                    object_id=row.id if row is not None else None,
                    details={"reason": reason, "address": address},
                )
                failed = True
            else:
                failed = False
                row.last_login_at = utcnow()
                if needs_rehash(row.password_hash):
                    row.password_hash = hash_password(password)
                audit.record(
                    s,
                    actor=f"user:{row.name}",
                    action="auth.login",
                    object_type="user",
                    object_id=row.id,
                    details={"address": address},
                )
                user = _to_user(row)
        if failed:
            raise AuthenticationError("wrong user name or password")
        self.login_failures.reset(user_key)
        return user

    # --- API keys ----------------------------------------------------------------------------

    def create_api_key(self, name: str, scopes: Iterable[Scope | str]) -> NewApiKey:
        name = name.strip()
        if not 1 <= len(name) <= 200:
            raise InvalidInputError("an API key name is 1 to 200 characters")
        parsed = sorted({parse_scope(s) if isinstance(s, str) else s for s in scopes}, key=lambda x: x.value)
        if not parsed:
            raise InvalidInputError("an API key needs at least one scope")
        for _ in range(5):
            secret = KEY_PREFIX + secrets.token_urlsafe(32)
            prefix = secret[:PREFIX_LENGTH]
            try:
                with self.store.session() as s:
                    row = ApiKeyRow(
                        name=name,
                        prefix=prefix,
                        key_hash=_key_hash(secret),
                        scopes=[x.value for x in parsed],
                        created_by=self.actor,
                    )
                    s.add(row)
                    s.flush()
                    audit.record(
                        s,
                        actor=self.actor,
                        action="apikey.create",
                        object_type="apikey",
                        object_id=row.id,
                        details={"name": name, "prefix": prefix, "scopes": row.scopes},
                    )
                    return NewApiKey(_to_key(row), secret)
            except IntegrityError:
                continue  # prefix collision: draw again
        raise InvalidInputError("could not draw a unique API key prefix")  # pragma: no cover

    def list_api_keys(self) -> list[ApiKey]:
        with self.store.session() as s:
            return [_to_key(r) for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]

    def revoke_api_key(self, ref: str | int) -> ApiKey:
        with self.store.session() as s:
            key_id = ref if isinstance(ref, int) else ascii_int(ref)
            if key_id is not None:
                row = s.get(ApiKeyRow, key_id)
            else:
                row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == str(ref)[:PREFIX_LENGTH]))
            if row is None:
                raise ApiKeyNotFoundError(f"no API key {ref!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                audit.record(
                    s,
                    actor=self.actor,
                    action="apikey.revoke",
                    object_type="apikey",
                    object_id=row.id,
                    details={"prefix": row.prefix},
                )
            with self._cache_lock:
                self._key_cache.pop(row.prefix, None)
            return _to_key(row)

    def cached_client(self, secret: str) -> ApiClient | None:
        """The client of a key checked within ``OHSC_APIKEY_CACHE_SECONDS``, without the database."""
        secret = secret.strip()
        prefix = secret[:PREFIX_LENGTH]
        with self._cache_lock:
            cached = self._key_cache.get(prefix)
        if cached is None or cached[0] <= time.monotonic():
            return None
        if not hmac.compare_digest(cached[1], _key_hash(secret)):
            return None
        return cached[2]

    def check_api_key(self, secret: str) -> ApiClient:
        """The client a presented key belongs to; :class:`AuthenticationError` if none."""
        secret = secret.strip()
        if not secret.startswith(KEY_PREFIX) or len(secret) < PREFIX_LENGTH + 16 or len(secret) > 200:
            raise AuthenticationError("invalid API key")
        prefix = secret[:PREFIX_LENGTH]
        digest = _key_hash(secret)
        now = time.monotonic()
        with self._cache_lock:
            cached = self._key_cache.get(prefix)
        if cached is not None and cached[0] > now and hmac.compare_digest(cached[1], digest):
            return cached[2]
        with self.store.session() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
            if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
                raise AuthenticationError("invalid API key")
            client = ApiClient(
                key_id=row.id,
                name=row.name,
                prefix=row.prefix,
                scopes=frozenset(Scope(x) for x in row.scopes),
            )
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=utcnow()))
        if self.settings.apikey_cache_seconds > 0:
            with self._cache_lock:
                if len(self._key_cache) > 10_000:
                    self._key_cache.clear()
                self._key_cache[prefix] = (now + self.settings.apikey_cache_seconds, digest, client)
        return client
