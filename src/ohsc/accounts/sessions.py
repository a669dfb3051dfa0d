"""UI sessions: a random cookie value whose SHA-256 names a row; idle and absolute expiry; CSRF token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete

from ohsc import audit
from ohsc.accounts.model import User, WebSession
from ohsc.accounts.models import UserRow, WebSessionRow
from ohsc.accounts.roles import Role
from ohsc.errors import AuthenticationError, SessionExpiredError
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import utcnow

#: last_seen_at is written at most this often (a session is not a write per click)
TOUCH_EVERY = timedelta(seconds=30)


def _sid(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.max_age = timedelta(hours=settings.session_max_hours)

    def start(self, user: User) -> str:
        """A new session for a user who just logged in; returns the cookie value."""
        token = secrets.token_urlsafe(32)
        with self.store.session() as s:
            s.add(WebSessionRow(id=_sid(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32)))
        return token

    def load(self, token: str) -> WebSession:
        """The session behind a cookie value; expired sessions are deleted and refused."""
        if not token or len(token) > 200:
            raise AuthenticationError("not logged in")
        now = utcnow()
        with self.store.session() as s:
            row = s.get(WebSessionRow, _sid(token))
            if row is None:
                raise AuthenticationError("not logged in")
            user_row = s.get(UserRow, row.user_id)
            expired = (
                user_row is None
                or not user_row.enabled
                or now - row.last_seen_at > self.idle
                or now - row.created_at > self.max_age
            )
            if expired or user_row is None:
                s.delete(row)
                s.commit()  # the expired session is gone even though we raise
                raise SessionExpiredError("your session has expired; please log in again")
            if now - row.last_seen_at > TOUCH_EVERY:
                row.last_seen_at = now
            user = User(
                id=user_row.id,
                name=user_row.name,
                role=Role(user_row.role),
                enabled=user_row.enabled,
                created_at=user_row.created_at,
                last_login_at=user_row.last_login_at,
            )
            return WebSession(
                user=user, csrf_token=row.csrf_token, created_at=row.created_at, last_seen_at=now
            )

    def end(self, token: str, user: User | None = None) -> None:
        with self.store.session() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.id == _sid(token)))
            if user is not None:
                audit.record(s, actor=user.actor, action="auth.logout", object_type="user", object_id=user.id)

    def purge_expired(self) -> int:
        cutoff_idle = utcnow() - self.idle
        cutoff_age = utcnow() - self.max_age
        with self.store.session() as s:
            result = s.execute(
                delete(WebSessionRow).where(
                    (WebSessionRow.last_seen_at < cutoff_idle) | (WebSessionRow.created_at < cutoff_age)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
