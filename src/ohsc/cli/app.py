"""What every command needs: settings, the store, services; and the one place errors are translated.

Start-up is kept cheap (``ohsc --help`` and ``ohsc bank list`` should start in well under a
second): settings, rich and the store are imported when a command first uses them, and
``tests/test_cli_startup.py`` checks that heavy modules stay out of ``import ohsc.cli``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ohsc.errors import OhscError

if TYPE_CHECKING:  # imported when used: a command that needs no store does not load SQLAlchemy
    from rich.console import Console

    from ohsc.banks.service import BankService
    from ohsc.matching.matcher import Matcher
    from ohsc.settings import Settings
    from ohsc.store.db import Store

    #: Standard output and standard error as rich consoles (created on first use).
    out: Console
    err: Console


def _console(name: str) -> Console:
    console: Console | None = globals().get(name)
    if console is None:
        from rich.console import Console

        console = Console(stderr=name == "err", highlight=False, soft_wrap=True)
        globals()[name] = console
    return console


def __getattr__(name: str) -> Any:
    """``out`` and ``err``: rich consoles created when first used (rich costs ~50 ms to import)."""
    if name in ("out", "err"):
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class App:
    """Lazily opened services for one CLI invocation."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    @cached_property
    def settings(self) -> Settings:
        from ohsc.settings import load_settings

        return self._settings or load_settings()

    @cached_property
    def store(self) -> Store:
        from ohsc.store.db import Store

        return Store.from_settings(self.settings)

    @cached_property
    def actor(self) -> str:
        import getpass

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
    ``summaries`` gives their one-line help for the group's own ``--help``, so listing the
    commands imports none of them.
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, str] | None = None,
        summaries: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.summaries = dict(summaries or {})

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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows: list[tuple[str, str]] = []
        for name in names:
            if name not in self.commands and name in self.summaries:
                summary = click.Command(name, help=self.summaries[name])  # shortened as click does
                rows.append((name, summary.get_short_help_str(limit)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OhscError as exc:
            _fail(exc.message, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except OSError as exc:
            if exc.filename is None or isinstance(exc, BrokenPipeError):
                raise
            _fail(f"{exc.filename}: {exc.strerror or exc}", 1)


def _fail(message: str, status: int) -> NoReturn:
    from rich.markup import escape

    _console("err").print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(status)


def setup_logging(settings: Settings) -> None:
    import logging

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
