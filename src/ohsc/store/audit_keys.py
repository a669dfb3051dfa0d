"""The audit chain's keys (a secret kept outside the database) and the sealed start of the keyed chain.

Every audit event written since the chain was keyed carries the id of the key whose HMAC-SHA256
is its ``hash``. The key comes from ``OHSC_AUDIT_KEY`` or from the key file
``OHSC_AUDIT_KEY_FILE`` (default ``OHSC_HOME/audit.key``, created owner-only on first use).
Keys used before a rotation stay in the ring (later lines of the file, or ``OHSC_AUDIT_OLD_KEYS``)
so that older events still verify.

Events written before this version existed were chained without a key. When the migration that
keys the chain runs, the highest event number at that moment is *sealed* (an HMAC of the store
id and that number, in ``ohsc_meta``): events up to it verify under the old rule, every later
one must be keyed. Deleting or changing the seal makes every unkeyed event fail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from ohsc.errors import ConfigError
from ohsc.settings import Settings
from ohsc.store.keyfiles import decode_key, read_or_create_key_file, write_key_lines
from ohsc.store.models import AuditEvent, MetaValue

#: ``ohsc_meta`` key of the seal (a storage key: never rename).
SEAL_KEY = "audit_legacy_seal"
_KEY_ID_LABEL = b"ohsc audit key id"
_KEY_FILE_COMMENT = "OHSC audit chain keys: current first, older (before a rotation) after. Keep a backup."


def key_id(key: bytes) -> str:
    """A key's public name: 16 hex digits of HMAC(key, label); reveals nothing of the key."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AuditKeyring:
    """The current audit key and the older ones, by key id."""

    current: bytes
    older: tuple[bytes, ...] = ()
    #: where the keys come from, for messages ("OHSC_AUDIT_KEY" or the key file's path)
    source: str = ""
    _by_id: dict[str, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {key_id(k): k for k in reversed((self.current, *self.older))}
        object.__setattr__(self, "_by_id", by_id)

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def get(self, kid: str) -> bytes | None:
        return self._by_id.get(kid)

    def mac(self, kid: str, data: bytes) -> str | None:
        """Hex HMAC-SHA256 of ``data`` under key ``kid``; None when the ring lacks that key."""
        key = self.get(kid)
        return None if key is None else hmac.new(key, data, hashlib.sha256).hexdigest()


def load_keyring(settings: Settings) -> AuditKeyring:
    """The audit keys: ``OHSC_AUDIT_KEY``, else the key file (created, owner-only, when missing)."""
    older = tuple(
        decode_key(k, "OHSC_AUDIT_OLD_KEYS") for k in settings.audit_old_keys.split(",") if k.strip()
    )
    if settings.audit_key:
        return AuditKeyring(decode_key(settings.audit_key, "OHSC_AUDIT_KEY"), older, "OHSC_AUDIT_KEY")
    path = settings.effective_audit_key_file
    keys = read_or_create_key_file(path, comment=_KEY_FILE_COMMENT)
    return AuditKeyring(keys[0], (*keys[1:], *older), str(path))


def rotate_key_file(settings: Settings, new_key: bytes) -> AuditKeyring:
    """Make ``new_key`` the current key of the key file; the old ones stay for verification."""
    if settings.audit_key:
        raise ConfigError(
            "the audit key comes from OHSC_AUDIT_KEY: set the new key there and move the old one "
            "to OHSC_AUDIT_OLD_KEYS (comma-separated), then restart every process"
        )
    ring = load_keyring(settings)
    path = settings.effective_audit_key_file
    write_key_lines(path, [new_key, ring.current, *ring.older], comment=_KEY_FILE_COMMENT)
    return load_keyring(settings)


# --- the seal of the unkeyed beginning ---------------------------------------------------------


_Executes = Connection | Session


def _seal_message(store_id: str, until: int) -> bytes:
    return f"ohsc audit chain: events up to {until} of store {store_id} were written before keying".encode()


def _store_id(db: _Executes) -> str:
    value = db.execute(select(MetaValue.value).where(MetaValue.key == "store_id")).scalar_one_or_none()
    if value is None:
        value = uuid.uuid4().hex
        db.execute(insert(MetaValue).values(key="store_id", value=value))
    return str(value)


def seal_unkeyed(db: _Executes, keyring: AuditKeyring) -> int:
    """Seal the events that exist now as the unkeyed beginning (run once, by the migration step)."""
    until = int(db.execute(select(func.max(AuditEvent.seq))).scalar_one_or_none() or 0)
    if until == 0:
        return 0
    kid = keyring.current_id
    value = json.dumps(
        {"until": until, "key_id": kid, "mac": keyring.mac(kid, _seal_message(_store_id(db), until))}
    )
    exists = db.execute(select(MetaValue.key).where(MetaValue.key == SEAL_KEY)).scalar_one_or_none()
    if exists is None:
        db.execute(insert(MetaValue).values(key=SEAL_KEY, value=value))
    else:
        db.execute(update(MetaValue).where(MetaValue.key == SEAL_KEY).values(value=value))
    return until


@dataclass(frozen=True, slots=True)
class UnkeyedBeginning:
    """Events ``1..until`` may be unkeyed; ``problem`` says why the seal was not accepted."""

    until: int = 0
    problem: str | None = None


def unkeyed_beginning(db: _Executes, keyring: AuditKeyring) -> UnkeyedBeginning:
    raw = db.execute(select(MetaValue.value).where(MetaValue.key == SEAL_KEY)).scalar_one_or_none()
    if raw is None:
        return UnkeyedBeginning()
    try:
        seal = json.loads(raw)
        until, kid, mac = int(seal["until"]), str(seal["key_id"]), str(seal["mac"])
    except (ValueError, KeyError, TypeError):
        return UnkeyedBeginning(0, "the seal of the unkeyed beginning is damaged")
    store_id = db.execute(select(MetaValue.value).where(MetaValue.key == "store_id")).scalar_one_or_none()
    expected = keyring.mac(kid, _seal_message(str(store_id), until))
    if expected is None:
        return UnkeyedBeginning(
            0, f"the seal of the unkeyed beginning is keyed with {kid}, a key not in the ring"
        )
    if not hmac.compare_digest(expected, mac):
        return UnkeyedBeginning(0, "the seal of the unkeyed beginning was changed")
    return UnkeyedBeginning(until)
