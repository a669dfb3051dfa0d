"""The audit log: every decision and change as an append-only, keyed, hash-chained event.

* :func:`record` appends an event in the caller's transaction (:mod:`ohsc.audit.chain`).
* :func:`verify` checks the chain in a session; :func:`verify_log` is the action people run
  (``ohsc audit verify``, the web audit page): it also checks signed checkpoints
  (:mod:`ohsc.audit.checkpoint`) and records an ``audit.verify`` event.
* :func:`write_checkpoint` signs the head; :func:`rotate_key` starts a new audit key.
"""

from __future__ import annotations

from ohsc.audit.chain import GENESIS, ChainProblem, VerifyResult, canonical, compute_hash, record, verify
from ohsc.audit.checkpoint import Checkpoint
from ohsc.audit.log import foreign_key_warning, rotate_key, trusted_signer, verify_log, write_checkpoint

__all__ = [
    "GENESIS",
    "ChainProblem",
    "Checkpoint",
    "VerifyResult",
    "canonical",
    "compute_hash",
    "foreign_key_warning",
    "record",
    "rotate_key",
    "trusted_signer",
    "verify",
    "verify_log",
    "write_checkpoint",
]
