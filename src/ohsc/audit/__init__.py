"""The audit log: every decision and change as an append-only, keyed, hash-chained event.

* :func:`record` appends an event in the caller's transaction (:mod:`ohsc.audit.chain`);
  :func:`record_many` appends several at once.
* :func:`verify` checks the chain in a session; :func:`verify_log` is the action people run
  (``ohsc audit verify``, the web audit page): it also checks signed checkpoints
  (:mod:`ohsc.audit.checkpoint`) and records an ``audit.verify`` event.
* :func:`write_checkpoint` signs the head; :func:`rotate_key` starts a new audit key.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ohsc.audit.chain import (
    GENESIS,
    ChainProblem,
    NewEvent,
    VerifyResult,
    canonical,
    compute_hash,
    record,
    record_many,
    verify,
)

if TYPE_CHECKING:
    from ohsc.audit.checkpoint import Checkpoint
    from ohsc.audit.log import foreign_key_warning, rotate_key, trusted_signer, verify_log, write_checkpoint

#: loaded on first use: checkpoints need ``cryptography``, which writing an event never does
_LAZY = {
    "Checkpoint": "ohsc.audit.checkpoint",
    "foreign_key_warning": "ohsc.audit.log",
    "rotate_key": "ohsc.audit.log",
    "trusted_signer": "ohsc.audit.log",
    "verify_log": "ohsc.audit.log",
    "write_checkpoint": "ohsc.audit.log",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GENESIS",
    "ChainProblem",
    "Checkpoint",
    "NewEvent",
    "VerifyResult",
    "canonical",
    "compute_hash",
    "foreign_key_warning",
    "record",
    "record_many",
    "rotate_key",
    "trusted_signer",
    "verify",
    "verify_log",
    "write_checkpoint",
]
