"""Shared bits of the prevention commands."""

from __future__ import annotations

from ohsc.actor import ROLE_ADMIN, LocalActor
from ohsc.cli.app import App


def cli_actor(app: App) -> LocalActor:
    """Whoever runs the command: an administrator of this installation."""
    return LocalActor(app.actor, frozenset({ROLE_ADMIN}))
