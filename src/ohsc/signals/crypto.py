"""Cryptographic digests of whole files: exact matching only."""

from __future__ import annotations

from ohsc.signals.base import HexDigestSignal


class Md5Signal(HexDigestSignal):
    name = "md5"
    description = "MD5 of the file bytes (NCMEC, IWF and Project VIC lists carry it)"
    hex_length = 32


class Sha1Signal(HexDigestSignal):
    name = "sha1"
    description = "SHA-1 of the file bytes"
    hex_length = 40


class Sha256Signal(HexDigestSignal):
    name = "sha256"
    description = "SHA-256 of the file bytes"
    hex_length = 64
