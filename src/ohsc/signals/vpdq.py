"""Video signal types: ``vpdq`` (frames compared both ways) and the digests of video files.

``video_md5`` and ``video_sha256`` are ThreatExchange's and HMA's names for the MD5 and SHA-256
of a video file: hash lists carry them, and every video OHSC hashes offers them next to the
plain digests. They are aliases of ``md5``/``sha256`` for matching (a bare MD5 finds both).

A ``vpdq`` value is written in any form :func:`ohsc.signals.vpdq_frames.parse_vpdq` reads, or as the
vPDQ id (``vpdq-`` + 64 hex digits) of frames the store already holds. Banks store the id; the
frames live in the ``vpdq_frames`` table (:mod:`ohsc.signals.vpdq_store`), shared by every entry with
the same frames; exports write the frames out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ohsc.errors import InvalidSignalError
from ohsc.signals.base import HexDigestSignal, SignalType
from ohsc.signals.vpdq_frames import format_vpdq, is_vpdq_id, parse_vpdq, vpdq_id

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class VideoMd5Signal(HexDigestSignal):
    name = "video_md5"
    description = "MD5 of a video file's bytes (ThreatExchange/HMA video_md5)"
    hex_length = 32
    guessable = False
    aliases = ("md5",)


class VideoSha256Signal(HexDigestSignal):
    name = "video_sha256"
    description = "SHA-256 of a video file's bytes"
    hex_length = 64
    guessable = False
    aliases = ("sha256",)


class VpdqSignal(SignalType):
    name = "vpdq"
    description = (
        "vPDQ: PDQ of a video's frames sampled once a second; matched frame by frame, "
        "as the share of each video's frames found in the other"
    )
    is_distance = True
    max_distance = 256
    has_payload = True

    @classmethod
    def validate(cls, value: str) -> str:
        """A vPDQ id (lower-cased), or the frames in canonical form (Meta's lines, ``;``-joined)."""
        if not isinstance(value, str):
            raise InvalidSignalError(f"vpdq: expected a string, got {type(value).__name__}")
        if is_vpdq_id(value):
            return value.strip().lower()
        return format_vpdq(parse_vpdq(value))

    @classmethod
    def reference(cls, value: str) -> str:
        """The vPDQ id of a value (an id stays as it is)."""
        if is_vpdq_id(value):
            return value.strip().lower()
        return vpdq_id(parse_vpdq(value))

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """0 for the same frames, 1 otherwise (videos are compared by :mod:`ohsc.matching.video_rules`)."""
        return 0 if cls.reference(a) == cls.reference(b) else 1

    @classmethod
    def store_payload(cls, session: Session, value: str) -> str:
        from ohsc.signals.vpdq_store import frames_exist, store_frames

        if is_vpdq_id(value):
            ref = value.strip().lower()
            if not frames_exist(session, ref):
                raise InvalidSignalError(
                    f"vpdq: this store has no frames for {ref}: give the frames, not only their id"
                )
            return ref
        return store_frames(session, parse_vpdq(value))

    @classmethod
    def load_payloads(cls, session: Session, refs: Sequence[str]) -> dict[str, str]:
        from ohsc.signals.vpdq_store import load_frames

        found = load_frames(session, refs)
        # plain vPDQ leaves OHSC: no variants
        return {
            ref: format_vpdq(found[ref].to_frames(variants=False)) if ref in found else ref for ref in refs
        }

    @classmethod
    def purge_payloads(cls, session: Session) -> int:
        from ohsc.signals.vpdq_store import purge_unreferenced

        return purge_unreferenced(session)
