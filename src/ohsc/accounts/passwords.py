"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ohsc.errors import InvalidInputError

MIN_LENGTH = 10
MAX_LENGTH = 1024

_hasher = PasswordHasher()
#: verified against when the user does not exist, so both paths cost the same
_DUMMY = _hasher.hash("ohsc-dummy-password-for-timing")


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify_password(encoded: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work whether or not there is a hash."""
    try:
        return _hasher.verify(encoded or _DUMMY, password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    return _hasher.check_needs_rehash(encoded)
