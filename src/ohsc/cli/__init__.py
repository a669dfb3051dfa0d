"""The ``ohsc`` command line: thin shells over the library (click + rich).

Commands are imported when they run (or when ``--help`` lists them), so ``ohsc hash`` does not
load the web app or the reporting code, and worker processes of ``ohsc scan`` start fast.
"""

from __future__ import annotations

import click

from ohsc import __version__
from ohsc.cli.app import App, OhscGroup, setup_logging

#: command name -> "module:attribute"; names are what users type, so they never change
COMMANDS: dict[str, str] = {
    "hash": "ohsc.cli.hash_cmd:hash_",
    "bank": "ohsc.cli.bank_cmd:bank",
    "match": "ohsc.cli.match_cmd:match",
    "scan": "ohsc.cli.scan_cmd:scan",
    "demo": "ohsc.cli.demo_cmd:demo",
    "db": "ohsc.cli.admin_cmd:db",
    "index": "ohsc.cli.admin_cmd:index",
    "audit": "ohsc.cli.audit_cmd:audit",
    "settings": "ohsc.cli.admin_cmd:settings_cmd",
    # prevention
    "deter": "ohsc.cli.deter_cmd:deter",
    "directory": "ohsc.cli.directory_cmd:directory",
    "trace": "ohsc.cli.trace_cmd:trace",
    # reporting to authorities, evidence preservation
    "report": "ohsc.cli.report_cmd:report",
    "evidence": "ohsc.cli.evidence_cmd:evidence",
    # the service
    "serve": "ohsc.cli.serve_cmd:serve",
    "purge": "ohsc.cli.serve_cmd:purge",
    "user": "ohsc.cli.account_cmd:user",
    "apikey": "ohsc.cli.account_cmd:apikey",
    "webhook": "ohsc.cli.webhook_cmd:webhook",
}


@click.group(
    cls=OhscGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="ohsc")
@click.pass_context
def main(ctx: click.Context) -> None:
    """OHSC: hash, match and scan for known child sexual abuse material, on your own machine.

    Data lives in OHSC_HOME (default ~/.ohsc): a SQLite store and the match indexes.
    Set OHSC_DATABASE_URL=postgresql://... to use PostgreSQL.
    """
    app = ctx.ensure_object(App)
    ctx.call_on_close(app.close)
    setup_logging(app.settings)


__all__ = ["COMMANDS", "main"]
