"""What the account service hands out: users, API keys, authenticated clients and sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ohsc.accounts.roles import Role, Scope


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    enabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def actor(self) -> str:
        """How this user appears in the audit log."""
        return f"user:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    scopes: tuple[Scope, ...]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": [s.value for s in self.scopes],
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked": self.revoked_at is not None,
        }


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A freshly created key: ``secret`` is shown once and never stored."""

    key: ApiKey
    secret: str


@dataclass(frozen=True, slots=True)
class ApiClient:
    """The machine client behind a request (an API key that checked out)."""

    key_id: int
    name: str
    prefix: str
    scopes: frozenset[Scope]

    @property
    def actor(self) -> str:
        return f"apikey:{self.prefix}"

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class WebSession:
    """A logged-in UI session."""

    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
