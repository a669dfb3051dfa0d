"""The ``ohsc`` command line: thin shells over the library (click + rich).

Commands are imported when they run, never to list them (``ohsc --help`` shows ``SUMMARIES``), so
``ohsc hash`` does not load the web app or the reporting code, ``ohsc --help`` loads none of them,
and worker processes of ``ohsc scan`` start fast.
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
    "matches": "ohsc.cli.matches_cmd:matches",
    "transparency": "ohsc.cli.matches_cmd:transparency",
    "scan": "ohsc.cli.scan_cmd:scan",
    "cluster": "ohsc.cli.cluster_cmd:cluster",
    "case": "ohsc.cli.case_cmd:case",
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
    "rule": "ohsc.cli.rule_cmd:rule",
    # removal
    "crawl": "ohsc.cli.crawl_cmd:crawl",
    "takedown": "ohsc.cli.takedown_cmd:takedown",
    # exchange between organisations
    "exchange": "ohsc.cli.exchange_cmd:exchange",
    "feed": "ohsc.cli.exchange_cmd:feed",
}

#: command name -> its line in ``ohsc --help`` (each command's own --help has the details)
SUMMARIES: dict[str, str] = {
    "apikey": "API keys of machine clients and what each may do (scopes).",
    "audit": "The append-only, keyed hash-chained audit log and its signed checkpoints.",
    "case": "Triage cases: ingest a seized collection, stack, categorise, export VICS.",
    "bank": "Hash banks: named lists of hashes with categories, thresholds and retractions.",
    "cluster": "Dask clusters for scans: ohsc cluster local starts one here to try ohsc scan --cluster.",
    "crawl": "Crawl reported URLs for known material: add URLs, run the crawler, see the frontier.",
    "db": "The store (SQLite by default, PostgreSQL with OHSC_DATABASE_URL).",
    "demo": "Build a demo bank from generated images and scan a folder of altered copies and decoys.",
    "deter": "Deterrence: check texts against operator term lists; messages and confidential help.",
    "directory": "The help directory shown with deterrence messages and on the public help page.",
    "evidence": "Preserved evidence of filed reports: encrypted, kept for the legal period, then purged.",
    "exchange": "Exchanges: hash lists fetched from other organisations (OHSC feeds, NCMEC, StopNCII).",
    "feed": "Feeds: banks this node publishes to partners, signed with the node key.",
    "hash": "Hash files: MD5, SHA-1, SHA-256, PDQ and its quality, vPDQ of videos.",
    "index": "The match indexes (a cache of the store, kept under OHSC_HOME/index).",
    "match": "Match hashes or files against every bank.",
    "matches": "The match log: content sent to the service that matched, newest first.",
    "purge": "Delete what retention settings no longer keep (review media, unmatched records, sessions).",
    "report": "Reports to authorities: drafts, NCMEC CyberTipline, UK NCA and EU Centre packages.",
    "rule": "Action rules (what a match does, per bank and category) and bank policies.",
    "scan": "Scan a folder, a .zip or a .tar(.gz) for known material.",
    "serve": "Serve the API (/v1, docs at /docs) and the review UI (/review).",
    "settings": "Show every OHSC_* setting with its current value (secrets masked).",
    "takedown": "Takedowns: notices to hosts, re-checks until removal, contacts, removal-time statistics.",
    "transparency": "Transparency figures for a period (matches, decisions, reports, takedowns) as JSON or CSV.",
    "trace": "Trace an Object: publish sanitised object pictures (two-person approval), triage tips.",
    "user": "People who log in to the web UI, and their roles.",
    "webhook": "Webhooks: signed deliveries of match and review events to your systems.",
}


@click.group(
    cls=OhscGroup,
    lazy_commands=COMMANDS,
    summaries=SUMMARIES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="ohsc")
@click.pass_context
def main(ctx: click.Context) -> None:
    """OHSC: hash, match and scan for known child sexual abuse material, on your own machine.

    Data lives in OHSC_HOME (default ~/.ohsc): a SQLite store and the match indexes.
    Set OHSC_DATABASE_URL=postgresql://... to use PostgreSQL. Exit statuses: docs/cli.md.
    """
    app = ctx.ensure_object(App)
    ctx.call_on_close(app.close)
    setup_logging(app.settings)


__all__ = ["COMMANDS", "SUMMARIES", "main"]
