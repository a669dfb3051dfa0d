"""Secret key files: created once, owner-only (0600), never overwritten by a second process."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from ohsc.errors import ConfigError
from ohsc.permissions import private_dir


def decode_key(text: str, where: str, *, size: int = 32) -> bytes:
    """Base64 of exactly ``size`` bytes; a :class:`ConfigError` naming ``where`` otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ConfigError(f"{where} must be base64") from exc
    if len(raw) != size:
        raise ConfigError(f"{where} must be {size} bytes (base64 of {size} random bytes)")
    return raw


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def read_key_lines(path: Path, *, size: int = 32) -> list[bytes]:
    """Every key in ``path``: one base64 key per line, the current one first (``#`` comments)."""
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    keys = [decode_key(ln, f"key file {path}", size=size) for ln in lines if ln and not ln.startswith("#")]
    if not keys:
        raise ConfigError(f"key file {path} holds no key")
    return keys


def _write_tmp(path: Path, keys: list[bytes], comment: str) -> Path:
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        if comment:
            fh.write(f"# {comment}\n")
        fh.write("".join(encode_key(k) + "\n" for k in keys))
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def write_key_lines(path: Path, keys: list[bytes], *, comment: str = "") -> None:
    """Replace ``path`` atomically with ``keys`` (owner-only from the first byte)."""
    os.replace(_write_tmp(path, keys, comment), path)


def read_or_create_key_file(path: Path, *, size: int = 32, comment: str = "") -> list[bytes]:
    """The keys in ``path``; when it does not exist, a new random key written there (0600).

    The file appears complete or not at all (written aside, then linked), so a second process
    starting at the same moment reads the first one's key instead of making its own.
    """
    if path.exists():
        return read_key_lines(path, size=size)
    raw = secrets.token_bytes(size)
    tmp = _write_tmp(path, [raw], comment)
    try:
        os.link(tmp, path)
    except FileExistsError:  # another process created it first: use theirs
        return read_key_lines(path, size=size)
    finally:
        tmp.unlink()
    return [raw]
