"""Passwords: the policy for new ones (NIST SP 800-63B) and argon2id hashing (argon2-cffi's
defaults, RFC 9106 low-memory profile).

The policy, checked whenever a password is set (never when one is only verified):

* at least ``OHSC_PASSWORD_MIN_LENGTH`` characters (15: SP 800-63B-4 for passwords that are the
  only factor), at most :data:`MAX_LENGTH`; every character allowed, spaces included, and no
  composition rules (no "one digit, one capital");
* not the user name, nor containing it, nor the service's name;
* not guessable: the password is checked with zxcvbn (Dropbox's estimator; its lists hold the
  most common passwords of public breach corpora, English words and names, keyboard patterns),
  with the user name and the service's name as context, and refused below
  :data:`MIN_GUESSES_LOG10` (10^8 guesses): common and breached passwords, repetition (``aaaa``,
  ``abcabc``), sequences (``abcdef``, ``9876``, ``qwerty``), dates and dictionary words with
  predictable changes. The message says why.
"""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ohsc.errors import InvalidInputError

MIN_LENGTH = 15
MAX_LENGTH = 1024
#: zxcvbn's estimate below which a password is refused (score 3: "safely unguessable")
MIN_GUESSES_LOG10 = 8.0
#: words of the service itself that make a password guessable (NIST: "context-specific words")
SERVICE_WORDS = ("ohsc", "online harms", "safety centre", "safety center")
#: zxcvbn's run time grows with length; what is beyond this is not analysed (it only adds strength)
_ANALYSED = 100

_hasher = PasswordHasher()
#: verified against when the user does not exist, so both paths cost the same
_DUMMY = _hasher.hash("ohsc-dummy-password-for-timing")


def _estimate(password: str, context: list[str]) -> dict[str, Any]:
    from zxcvbn import zxcvbn  # about 0.1 s to load its lists: only when a password is set

    result: dict[str, Any] = zxcvbn(password[:_ANALYSED], user_inputs=context)
    return result


def check_policy(password: str, *, user_name: str | None = None, min_length: int = MIN_LENGTH) -> None:
    """Refuse a new password that breaks the policy, with a message saying why."""
    if len(password) < min_length:
        raise InvalidInputError(
            f"a password needs at least {min_length} characters: a few unrelated words make a good one"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(f"a password has at most {MAX_LENGTH} characters")
    folded = password.casefold()
    name = (user_name or "").casefold()
    if len(name) >= 3 and name in folded:
        raise InvalidInputError("a password may not contain the user name")
    for word in SERVICE_WORDS:
        if word in folded:
            raise InvalidInputError(f"a password may not contain the service's name ({word})")
    context = [w for w in (name, *SERVICE_WORDS, *(p for w in SERVICE_WORDS for p in w.split())) if w]
    estimate = _estimate(password, context)
    if float(estimate["guesses_log10"]) < MIN_GUESSES_LOG10:
        feedback = estimate.get("feedback") or {}
        why = str(feedback.get("warning") or "").strip().rstrip(".")
        hint = " ".join(str(s) for s in feedback.get("suggestions") or [])
        raise InvalidInputError(
            "this password is too easy to guess"
            + (f": {why[0].lower()}{why[1:]}" if why else "")
            + (f". {hint}" if hint else ". Use a few unrelated words.")
        )


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (check a new password with :func:`check_policy` first)."""
    if len(password) > MAX_LENGTH:
        raise InvalidInputError(f"a password has at most {MAX_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(encoded: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work whether or not there is a hash."""
    try:
        return _hasher.verify(encoded or _DUMMY, password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    return _hasher.check_needs_rehash(encoded)
