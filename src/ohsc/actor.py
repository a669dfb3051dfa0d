"""Who is acting: a name for the audit log and the roles that decide what they may do.

Services take an :class:`Actor` rather than a bare name wherever access is restricted (evidence,
reports). Anything with a ``name`` and a set of ``roles`` satisfies the protocol: the web app's
accounts, :class:`LocalActor` for the command line, :data:`SYSTEM` for scheduled jobs.

Role names are storage keys (they are written into settings and account records): never rename.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ohsc.errors import PermissionDeniedError

#: Everything, including settings and evidence.
ROLE_ADMIN = "admin"
#: Reviews matches and confirms or clears them.
ROLE_REVIEWER = "reviewer"
#: Prepares, submits and retracts reports to authorities.
ROLE_REPORTER = "reporter"
#: Reads preserved evidence, places and releases legal holds.
ROLE_EVIDENCE_CUSTODIAN = "evidence_custodian"
#: Scheduled jobs inside the server (purges, resumed submissions).
ROLE_SYSTEM = "system"
#: Edits the help directory and looks after deterrence term lists and messages.
ROLE_PREVENTION_ADMIN = "prevention_admin"
#: Prepares, approves, identifies and retires Trace-an-Object pictures; triages tips.
ROLE_INVESTIGATOR = "investigator"

KNOWN_ROLES = frozenset(
    {
        ROLE_ADMIN,
        ROLE_REVIEWER,
        ROLE_REPORTER,
        ROLE_EVIDENCE_CUSTODIAN,
        ROLE_SYSTEM,
        ROLE_PREVENTION_ADMIN,
        ROLE_INVESTIGATOR,
    }
)


@runtime_checkable
class Actor(Protocol):
    """A person or process acting on OHSC."""

    @property
    def name(self) -> str:
        """Stable identifier written to the audit log (``cli:alice``, ``user:17``, ``system``)."""
        ...

    @property
    def roles(self) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class LocalActor:
    """An actor given by name and roles (the command line, tests, scheduled jobs)."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, name: str, roles: Iterable[str]) -> LocalActor:
        return cls(name, frozenset(roles))


SYSTEM = LocalActor("system", frozenset({ROLE_SYSTEM}))


def has_any_role(actor: Actor, allowed: Iterable[str]) -> bool:
    return bool(actor.roles & frozenset(allowed))


def require(actor: Actor, *allowed: str, action: str) -> None:
    """Raise :class:`PermissionDeniedError` unless the actor is an admin or has one of the roles."""
    if ROLE_ADMIN in actor.roles or actor.roles & frozenset(allowed):
        return
    needed = " or ".join(sorted({ROLE_ADMIN, *allowed}))
    raise PermissionDeniedError(f"{actor.name} may not {action}: needs the role {needed}")
