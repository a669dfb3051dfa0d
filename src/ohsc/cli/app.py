"""What every command needs: settings, the store, services; and the one place errors are translated."""

from __future__ import annotations

import getpass
import importlib
import logging
import sys
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from ohsc.errors import OhscError
from ohsc.settings import Settings, load_settings

if TYPE_CHECKING:  # imported when used: a command that needs no store does not load SQLAlchemy
    from ohsc.banks.service import BankService
    from ohsc.matching.matcher import Matcher
    from ohsc.store.db import Store

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


class App:
    """Lazily opened services for one CLI invocation."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    @cached_property
    def settings(self) -> Settings:
        return self._settings or load_settings()

    @cached_property
    def store(self) -> Store:
        from ohsc.store.db import Store

        return Store.from_settings(self.settings)

    @cached_property
    def actor(self) -> str:
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):  # no passwd entry in some containers
            return "cli"

    @cached_property
    def banks(self) -> BankService:
        from ohsc.banks.service import BankService

        return BankService(self.store, self.settings, actor=self.actor)

    def close(self) -> None:
        """Release the store's connections (when this invocation opened it)."""
        store = self.__dict__.get("store")
        if store is not None:
            store.dispose()

    def matcher(self) -> Matcher:
        from ohsc.matching.matcher import Matcher

        return Matcher.open(self.store, self.settings)


class OhscGroup(click.Group):
    """Translates :class:`OhscError` into a message on stderr and the error's exit status.

    ``lazy_commands`` maps command names to ``"module:attribute"``: imported on first use.
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module, _, attr = self.lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OhscError as exc:
            err.print(f"[bold red]error:[/] {escape(exc.message)}")
            sys.exit(exc.exit_code)


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def get_app(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    if app is None:
        app = ctx.ensure_object(App)
    return app


pass_app = click.make_pass_decorator(App, ensure=True)
