"""Accounts: people with roles (argon2 passwords, UI sessions) and machine clients (scoped API keys)."""

from ohsc.accounts.model import ApiClient, ApiKey, NewApiKey, User, WebSession
from ohsc.accounts.roles import Role, Scope, parse_role, parse_scope
from ohsc.accounts.service import AccountService
from ohsc.accounts.sessions import SessionService

__all__ = [
    "AccountService",
    "ApiClient",
    "ApiKey",
    "NewApiKey",
    "Role",
    "Scope",
    "SessionService",
    "User",
    "WebSession",
    "parse_role",
    "parse_scope",
]
