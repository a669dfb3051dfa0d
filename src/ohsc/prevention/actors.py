"""Who may do what in the prevention package, as a small interface the accounts will satisfy.

Services take an :class:`Actor`: anything with a ``name`` (written to the audit log) and a set
of ``roles``. The web app's accounts, a command-line user and tests all fit. Role names are
storage keys: never rename.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ohsc.errors import PermissionDeniedError

#: May do everything.
ROLE_ADMIN = "admin"
#: Edits the help directory and looks after term lists and messages.
ROLE_PREVENTION_ADMIN = "prevention_admin"
#: Prepares, approves, identifies and retires Trace-an-Object pictures; triages tips.
ROLE_INVESTIGATOR = "investigator"

PREVENTION_ROLES = frozenset({ROLE_ADMIN, ROLE_PREVENTION_ADMIN, ROLE_INVESTIGATOR})


@runtime_checkable
class Actor(Protocol):
    """A person or process acting on OHSC."""

    @property
    def name(self) -> str:
        """Stable identifier for the audit log (``cli:alice``, ``user:17``)."""
        ...

    @property
    def roles(self) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class LocalActor:
    """An actor given by name and roles (command line, tests)."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, name: str, roles: Iterable[str]) -> LocalActor:
        return cls(name, frozenset(roles))


def require(actor: Actor, *allowed: str, action: str) -> None:
    """Raise :class:`PermissionDeniedError` unless the actor is an admin or has one of the roles."""
    if ROLE_ADMIN in actor.roles or actor.roles & frozenset(allowed):
        return
    needed = " or ".join(sorted({ROLE_ADMIN, *allowed}))
    raise PermissionDeniedError(f"{actor.name} may not {action}: needs the role {needed}")
