"""What every command needs: settings, the store, services; and the one place errors are translated."""

from __future__ import annotations

import getpass
import logging
import sys
from functools import cached_property
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ohsc.banks.service import BankService
from ohsc.errors import OhscError
from ohsc.matching.matcher import Matcher
from ohsc.settings import Settings, load_settings
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
        return Store.from_settings(self.settings)

    @cached_property
    def actor(self) -> str:
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):  # no passwd entry in some containers
            return "cli"

    @cached_property
    def banks(self) -> BankService:
        return BankService(self.store, self.settings, actor=self.actor)

    def matcher(self) -> Matcher:
        return Matcher.open(self.store, self.settings)


class OhscGroup(click.Group):
    """Translates :class:`OhscError` into a message on stderr and the error's exit status."""

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
