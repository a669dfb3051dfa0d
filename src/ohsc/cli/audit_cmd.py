"""``ohsc audit``: verify the keyed chain (and signed checkpoints), export checkpoints, rotate the key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ohsc.cli.app import App, err, out, pass_app
from ohsc.cli.render import e

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


@click.group("audit")
def audit() -> None:
    """The append-only, keyed, hash-chained audit log."""


def _public_key(value: str | None) -> Ed25519PublicKey | None:
    from ohsc.audit.checkpoint import parse_public_key

    if value is None:
        return None
    path = Path(value)
    return parse_public_key(path.read_text() if path.is_file() else value)


@audit.command("verify")
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A signed checkpoint (ohsc audit checkpoint) the log must still match. Repeatable.",
)
@click.option(
    "--public-key",
    metavar="KEY|FILE",
    help="The checkpoint signer's public key (ohsc audit public-key); default: this installation's.",
)
@pass_app
def verify(app: App, checkpoints: tuple[Path, ...], public_key: str | None) -> None:
    """Check the chain, its keys and its event counter; name any changed, removed or reordered
    event, and any checkpoint the log no longer matches."""
    from ohsc import audit as audit_log
    from ohsc.errors import AuditChainError

    cps = [audit_log.Checkpoint.read(p) for p in checkpoints]
    result = audit_log.verify_log(app.store, app.actor, checkpoints=cps, public_key=_public_key(public_key))
    for note in result.notes:
        out.print(e(note))
    if result.ok:
        out.print(f"audit log intact: {e(result.summary())}")
        return
    for problem in result.problems:
        err.print(f"[red]{e(problem)}[/]")
    raise AuditChainError(
        f"audit log does not verify: {len(result.problems)} problem(s) in {result.events} events"
    )


@audit.command("checkpoint")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the signed checkpoint ('-': standard output). Keep it off this server.",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@pass_app
def checkpoint(app: App, output: Path, force: bool) -> None:
    """Sign the head of the (verified) log: its event number and hash, with Ed25519."""
    from ohsc import audit as audit_log
    from ohsc.errors import InvalidInputError

    to_stdout = str(output) == "-"
    if not to_stdout and output.exists() and not force:
        raise InvalidInputError(f"{output} exists; pass --force to replace it")
    cp = audit_log.write_checkpoint(app.store, app.actor)
    if to_stdout:
        out.file.write(cp.to_json())
        return
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(cp.to_json())
    os.replace(tmp, output)
    out.print(f"checkpoint of event #{cp.seq} written to {e(output)} (signer {cp.signer})")


@audit.command("public-key")
@pass_app
def public_key(app: App) -> None:
    """Print the checkpoint signing key's public key (base64), for verifiers elsewhere."""
    from ohsc.audit.checkpoint import public_key_b64, signing_key

    key = signing_key(app.settings, create=True)
    assert key is not None
    out.file.write(public_key_b64(key.public_key()) + "\n")


@audit.command("rotate-key")
@pass_app
def rotate_key(app: App) -> None:
    """Start keying new events with a new audit key (older keys stay in the key file)."""
    from ohsc import audit as audit_log

    old, new = audit_log.rotate_key(app.store, app.actor)
    out.print(f"audit key rotated: {old} -> {new}; restart running servers to use it (back up the key file)")
