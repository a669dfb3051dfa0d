"""Roles of people and scopes of API keys. Values are storage keys: never rename."""

from __future__ import annotations

from enum import StrEnum

from ohsc.errors import InvalidInputError


class Role(StrEnum):
    """What a logged-in person may do in the UI."""

    #: everything, including banks, rules, webhooks, users and the audit log
    ADMIN = "admin"
    #: the review queue: claim, view (blurred first), decide
    REVIEWER = "reviewer"
    #: read-only: decisions, matches and the audit log; never media
    AUDITOR = "auditor"
    #: the help directory and the prevention dashboard
    PREVENTION_ADMIN = "prevention_admin"
    #: Trace an Object: object pictures (two-person approval) and the tip inbox
    INVESTIGATOR = "investigator"
    #: reports to authorities: drafts, submits, retracts; also reviews
    REPORTER = "reporter"
    #: preserved evidence: lists, downloads (audited), legal holds
    EVIDENCE_CUSTODIAN = "evidence_custodian"


class Scope(StrEnum):
    """What a machine client's API key may do."""

    #: POST /v1/hash and /v1/match only
    MATCH = "match"
    #: banks, entries, imports, action rules, policies, webhooks
    BANK_ADMIN = "bank-admin"
    #: matches and review items: list, get, decide
    REVIEW = "review"
    #: POST /v1/deterrence/check only
    DETERRENCE = "deterrence"
    #: reports to authorities: list, get, create, edit, submit, retract
    REPORT = "report"
    #: POST /v1/urls: report URLs for the removal crawler
    CRAWL = "crawl"
    #: GET /v1/feeds/{bank} of the banks published to this key, and their feedback
    FEED = "feed"


#: Library actor roles (:mod:`ohsc.actor`) of each web role: a reporter also reviews.
ACTOR_ROLES: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"admin"}),
    Role.REVIEWER: frozenset({"reviewer"}),
    Role.AUDITOR: frozenset(),
    Role.REPORTER: frozenset({"reporter", "reviewer"}),
    Role.EVIDENCE_CUSTODIAN: frozenset({"evidence_custodian"}),
    Role.PREVENTION_ADMIN: frozenset({"prevention_admin"}),
    Role.INVESTIGATOR: frozenset({"investigator"}),
}

_SCOPE_ALIASES = {"match-only": Scope.MATCH, "bank_admin": Scope.BANK_ADMIN, "bankadmin": Scope.BANK_ADMIN}


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"unknown role {value!r} (known: {known})") from None


def parse_scope(value: str) -> Scope:
    key = value.strip().lower()
    if key in _SCOPE_ALIASES:
        return _SCOPE_ALIASES[key]
    try:
        return Scope(key)
    except ValueError:
        known = ", ".join(s.value for s in Scope)
        raise InvalidInputError(f"unknown scope {value!r} (known: {known})") from None
