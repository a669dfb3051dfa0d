"""The audit log's actions, one library call each (the CLI and the web app both use them):
verify (with checkpoints), export a signed checkpoint, rotate the audit key. Each is audited."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from ohsc.audit.chain import ChainProblem, VerifyResult, record, verify, walk
from ohsc.audit.checkpoint import Checkpoint, signer_id, signing_key
from ohsc.errors import AuditChainError, StoreError
from ohsc.settings import Settings, load_settings
from ohsc.store.audit_keys import key_id, rotate_key_file
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent


def _settings(store: Store) -> Settings:
    return store.settings or load_settings()


def foreign_key_warning(store: Store) -> str | None:
    """A warning when the newest event was keyed with a key this process does not have (another
    process or host with its own key file: their events and ours would not verify together)."""
    with store.session() as s:
        kid = s.scalar(select(AuditEvent.key_id).order_by(AuditEvent.seq.desc()).limit(1))
    if kid is None or store.audit_keyring.get(kid) is not None:
        return None
    return (
        f"the newest audit event was keyed with key {kid}, which is not in this process's audit key "
        f"ring ({store.audit_keyring.source}): give every process the same OHSC_AUDIT_KEY or key file"
    )


def trusted_signer(store: Store) -> Ed25519PublicKey | None:
    """The public half of this installation's checkpoint signing key, if it has one."""
    key = signing_key(_settings(store), create=False)
    return None if key is None else key.public_key()


def _check_checkpoint(
    result: VerifyResult,
    found: dict[int, str],
    cp: Checkpoint,
    trusted: Ed25519PublicKey | None,
    store_id: str,
) -> None:
    def fail(text: str) -> None:
        result.problems.append(ChainProblem(0, None, text))

    problem = cp.signature_problem(trusted)
    if problem is not None:
        fail(problem)
        return
    if cp.store_id != store_id:
        fail(f"{cp.name}: made for store {cp.store_id}, not for this store ({store_id})")
    elif cp.seq > result.head_seq:
        fail(
            f"{cp.name}: vouches for event #{cp.seq} (signed {cp.created_at}), but the log ends at "
            f"#{result.head_seq}: events were removed"
        )
    elif cp.seq not in found:
        fail(f"{cp.name}: event #{cp.seq}, which it vouches for, is missing")
    elif found[cp.seq] != cp.hash:
        fail(f"{cp.name}: event #{cp.seq} differs from the one signed {cp.created_at}: the log was rewritten")
    elif cp.unkeyed_until != result.unkeyed_until:
        fail(
            f"{cp.name}: the unkeyed beginning was #1–#{cp.unkeyed_until} when it was signed, "
            f"now #1–#{result.unkeyed_until}"
        )
    else:
        result.notes.append(f"{cp.name}: event #{cp.seq} matches (signed {cp.created_at} by {cp.signer})")


def verify_log(
    store: Store,
    actor: str,
    *,
    checkpoints: Sequence[Checkpoint] = (),
    public_key: Ed25519PublicKey | None = None,
) -> VerifyResult:
    """Verify the chain (and each checkpoint against it) and record an ``audit.verify`` event.

    A store that cannot be written (a read-only copy, a restored backup on read-only media) is
    still verified; the result then notes that the check could not be recorded.
    """
    trusted = public_key or (trusted_signer(store) if checkpoints else None)
    store_id = store.store_id
    with store.session() as s:
        result, found = walk(s, {cp.seq for cp in checkpoints})
    for cp in checkpoints:
        _check_checkpoint(result, found, cp, trusted, store_id)
    details = {
        "events": result.events,
        "ok": result.ok,
        "problems": len(result.problems),
        "head_seq": result.head_seq,
        "checkpoints": [cp.seq for cp in checkpoints],
    }
    try:
        with store.session() as s:
            record(s, actor=actor, action="audit.verify", object_type="audit", details=details)
    except (StoreError, DBAPIError) as exc:
        result.notes.append(
            f"this check was not recorded in the log (the store refused a write: {type(exc).__name__})"
        )
    return result


def write_checkpoint(store: Store, actor: str) -> Checkpoint:
    """Sign the head of a verified log (an ``audit.checkpoint`` event, which it then vouches for)."""
    key = signing_key(_settings(store), create=True)
    assert key is not None
    store_id = store.store_id
    with store.session() as s:
        result = verify(s)
    if not result.ok:
        raise AuditChainError(
            f"the audit log does not verify ({len(result.problems)} problem(s), first: {result.problems[0]}); "
            "a checkpoint would vouch for it: run `ohsc audit verify`"
        )
    with store.session() as s:
        event = record(
            s,
            actor=actor,
            action="audit.checkpoint",
            object_type="audit",
            details={"signer": signer_id(key.public_key()), "unkeyed_until": result.unkeyed_until},
        )
        cp = Checkpoint(
            store_id=store_id,
            seq=event.seq,
            hash=event.hash,
            created_at=event.at.isoformat(timespec="seconds"),
            unkeyed_until=result.unkeyed_until,
        )
    return cp.sign(key)


def rotate_key(store: Store, actor: str) -> tuple[str, str]:
    """Start using a new audit key (the old one stays in the key file to verify older events)."""
    settings = _settings(store)
    old_id = store.audit_keyring.current_id
    new = secrets.token_bytes(32)
    store.use_audit_keyring(rotate_key_file(settings, new))
    with store.session() as s:
        record(
            s,
            actor=actor,
            action="audit.key_rotate",
            object_type="audit",
            details={"old_key_id": old_id, "new_key_id": key_id(new)},
        )
    return old_id, key_id(new)
