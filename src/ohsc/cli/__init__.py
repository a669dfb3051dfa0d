"""The ``ohsc`` command line: thin shells over the library (click + rich)."""

from __future__ import annotations

import click

from ohsc import __version__
from ohsc.cli.account_cmd import apikey, user
from ohsc.cli.admin_cmd import audit, db, index, settings_cmd
from ohsc.cli.app import App, OhscGroup, setup_logging
from ohsc.cli.bank_cmd import bank
from ohsc.cli.demo_cmd import demo
from ohsc.cli.deter_cmd import deter
from ohsc.cli.directory_cmd import directory
from ohsc.cli.evidence_cmd import evidence
from ohsc.cli.hash_cmd import hash_
from ohsc.cli.match_cmd import match
from ohsc.cli.report_cmd import report
from ohsc.cli.scan_cmd import scan
from ohsc.cli.serve_cmd import purge, serve
from ohsc.cli.trace_cmd import trace


@click.group(
    cls=OhscGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="ohsc")
@click.pass_context
def main(ctx: click.Context) -> None:
    """OHSC: hash, match and scan for known child sexual abuse material, on your own machine.

    Data lives in OHSC_HOME (default ~/.ohsc): a SQLite store and the match indexes.
    Set OHSC_DATABASE_URL=postgresql://... to use PostgreSQL.
    """
    app = ctx.ensure_object(App)
    setup_logging(app.settings)


for command in (hash_, bank, match, scan, demo, db, index, audit, settings_cmd):
    main.add_command(command)
for command in (deter, directory, trace):  # prevention
    main.add_command(command)
main.add_command(report)  # reporting to authorities
main.add_command(evidence)  # evidence preservation
for command in (serve, user, apikey, purge):
    main.add_command(command)

__all__ = ["main"]
