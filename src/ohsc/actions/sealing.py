"""Seal small secrets (webhook signing keys) with the content key, so the database alone cannot sign."""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ohsc.errors import ConfigError
from ohsc.media.blobs import load_or_create_key
from ohsc.settings import Settings

_AAD = b"ohsc-webhook-secret-v1"


def content_key(settings: Settings) -> bytes:
    return load_or_create_key(settings.content_key, settings.home / "content.key")


def seal(key: bytes, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, secret.encode(), _AAD)).decode()


def unseal(key: bytes, sealed: str) -> str:
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], _AAD).decode()
    except InvalidTag:
        raise ConfigError("a webhook secret was sealed with another content key") from None
