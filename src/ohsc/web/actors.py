"""Who acts in the library when a web user or an API client does something (:mod:`ohsc.actor`)."""

from __future__ import annotations

from ohsc.accounts.model import ApiClient, User
from ohsc.accounts.roles import ACTOR_ROLES, Scope
from ohsc.actor import ROLE_REPORTER, ROLE_REVIEWER, LocalActor


def user_actor(user: User) -> LocalActor:
    """A logged-in person: the library roles of their web role (a reporter also reviews)."""
    return LocalActor(user.actor, ACTOR_ROLES.get(user.role, frozenset()))


def client_actor(client: ApiClient) -> LocalActor:
    """An API client with the ``report`` scope acts as a reporter (drafts, submits, retracts)."""
    roles = {ROLE_REPORTER, ROLE_REVIEWER} if Scope.REPORT in client.scopes else set()
    return LocalActor(client.actor, frozenset(roles))
