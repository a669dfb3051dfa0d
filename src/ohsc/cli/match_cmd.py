"""``ohsc match``: look up hashes or files in every bank."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e, print_json
from ohsc.errors import InvalidInputError, OhscError
from ohsc.matching.matcher import Matcher
from ohsc.signals import get_signal_type, guess_signal_types
from ohsc.video.text import describe_match, short_signals


def _args(args: tuple[str, ...]) -> Iterator[str]:
    for arg in args:
        if arg == "-":
            for line in sys.stdin:
                line = line.strip()
                if line and not line.startswith("#"):
                    yield line
        else:
            yield arg


def _query(app: App, matcher: Matcher, arg: str, dihedral: bool) -> dict[str, Any]:
    path = Path(arg)
    if ":" in arg and not path.exists():
        st_name, _, value = arg.partition(":")
        st = get_signal_type(st_name)
        signals = {st.name: st.validate(value)}
        outcome = matcher.match(signals, approximate_dihedral_from_hash=dihedral)
        return {"query": arg, "signals": short_signals(signals), **outcome.to_dict()}
    if path.is_dir():
        raise InvalidInputError(f"{arg} is a folder: use ohsc scan for folders")
    if path.exists():
        from ohsc.signals.files import HashOptions, hash_path  # numpy, Pillow: only for files

        sig = hash_path(path, HashOptions.from_settings(app.settings, mode="exact", dihedral=dihedral))
        if sig.md5 is None:
            raise InvalidInputError(f"{arg}: {sig.error}")
        outcome = matcher.match(sig.signals(), pdq_quality=sig.pdq_quality, dihedral=sig.pdq_dihedral)
        result = {
            "query": arg,
            "signals": short_signals(sig.signals()),
            "pdq_quality": sig.pdq_quality,
            **outcome.to_dict(),
        }
        if sig.error:
            result["error"] = sig.error
        return result
    types = guess_signal_types(arg)
    if not types:
        raise InvalidInputError(
            f"{arg!r} is neither a file nor a hash (no such file; hashes: md5, sha1, sha256, pdq, "
            "or TYPE:VALUE)"
        )
    value = arg.strip().lower()
    signals = dict.fromkeys(types, value)
    outcome = matcher.match(signals, approximate_dihedral_from_hash=dihedral)
    return {"query": arg, "signals": signals, **outcome.to_dict()}


@click.command("match")
@click.argument("args", nargs=-1, required=True)
@click.option("--dihedral", is_flag=True, help="Also match rotated and mirrored copies.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per query.")
@pass_app
def match(app: App, args: tuple[str, ...], dihedral: bool, as_json: bool) -> None:
    """Match hashes or files against every bank. ARG is a hash, TYPE:HASH, a file, or - for stdin.

    A bare 64-digit hex value is tried as both SHA-256 and PDQ. Videos are matched by vPDQ:
    the share of frames matched both ways and the matched time ranges are shown.

    Exit status 0 whether or not anything matched (matches are data); when a query cannot be
    answered (not a hash, no such file) the others still are, and the status is that error's
    (2 for bad input).
    """
    matcher = app.matcher()
    status = 0
    for arg in _args(args):
        try:
            result = _query(app, matcher, arg, dihedral)
        except OhscError as exc:
            status = status or exc.exit_code
            if as_json:
                print_json({"query": arg, "error": exc.message})
            else:
                err.print(f"[red]error:[/] {e(exc.message)}")
            continue
        if as_json:
            print_json(result)
            continue
        shown = result["matches"] or result["allowlisted"]
        if not shown:
            note = " (PDQ quality too low to match)" if result.get("low_quality") else ""
            out.print(f"{e(arg)}: no match{note}")
            continue
        label = "allowlisted" if not result["matches"] else f"{len(result['matches'])} match(es)"
        out.print(f"[bold]{e(arg)}[/]: {label}")
        table = Table("bank", "entry", "sources", "type", "distance", "category", "variant")
        for m in shown:
            table.add_row(
                e(m["bank"]),
                str(m["entry_id"]),
                e(_sources(m)),
                m["signal_type"],
                str(m["distance"]),
                e(m["category"] or ""),
                m["variant"] or "",
            )
        out.print(table)
        for m in shown:
            if m.get("video"):
                out.print(f"  entry {m['entry_id']}: {e(describe_match(m['video']))}")
        if result["suppressed"]:
            out.print(f"  {len(result['suppressed'])} match(es) suppressed by the allowlist")
    if status:
        raise SystemExit(status)


def _sources(match: dict[str, Any]) -> str:
    """``import:entry-a, import:entry-b``: every live source record listing the entry."""
    names = [
        f"{r['source']}:{r['external_id']}" if r.get("external_id") else r["source"]
        for r in match.get("sources") or []
    ]
    return ", ".join(names) or (match.get("external_id") or "")
