"""Exchange credentials at rest: sealed with the content key (AES-GCM), so the database alone
cannot fetch from a partner or speak for this node."""

from __future__ import annotations

import base64
import json
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ohsc.errors import ConfigError
from ohsc.media.blobs import load_or_create_key
from ohsc.settings import Settings

_AAD = b"ohsc-exchange-credentials-v1"


def content_key(settings: Settings) -> bytes:
    return load_or_create_key(settings.content_key, settings.home / "content.key")


def seal_secrets(key: bytes, values: dict[str, str], *, name: str) -> str:
    """The sealed JSON of ``values``; bound to the exchange ``name`` (a sealed blob moved to
    another exchange's row does not open)."""
    if not values:
        return ""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(values).encode(), _AAD + name.encode())
    return base64.b64encode(nonce + sealed).decode()


def unseal_secrets(key: bytes, sealed: str, *, name: str) -> dict[str, str]:
    if not sealed:
        return {}
    raw = base64.b64decode(sealed)
    try:
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], _AAD + name.encode())
    except InvalidTag:
        raise ConfigError(
            f"the credentials of exchange {name!r} were sealed with another content key"
        ) from None
    values = json.loads(plain)
    return {str(k): str(v) for k, v in values.items()}
