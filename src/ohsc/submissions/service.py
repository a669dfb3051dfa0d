"""The match pipeline: hash, match, decide, record, queue for review, notify.

One submission is one transaction: the content record, its match records, the review item, the
kept media's id, the events (hooks and webhook outbox rows) and the audit event commit together.
A repeated caller ``content_id`` answers what the first call answered.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.actions import events
from ohsc.actions.rules import Decision, Verdict, decide
from ohsc.content.media import REVIEW
from ohsc.content.model import ContentRecord, MatchResult, Submission
from ohsc.content.models import ContentRow, MatchRecordRow
from ohsc.content.writer import RecordWriter
from ohsc.errors import ContentIdConflictError, ContentNotFoundError, InvalidInputError
from ohsc.matching.matcher import Matcher
from ohsc.matching.model import Match, MatchOutcome
from ohsc.media.blobs import BlobStore
from ohsc.review.models import ReviewItemRow
from ohsc.review.queue import create_item
from ohsc.settings import Settings
from ohsc.signals import get_signal_type
from ohsc.signals.files import FileSignals, hash_upload
from ohsc.store.db import Store
from ohsc.store.types import utcnow
from ohsc.store.unit import unit_of_work

log = logging.getLogger(__name__)

MAX_CLIENT_REF = 200


def validate_signals(raw: dict[str, str]) -> dict[str, str]:
    """Normalise ``{"type": "value"}``; unknown types and bad values are input errors."""
    if not raw:
        raise InvalidInputError('give at least one signal (e.g. {"pdq": "..."})')
    if len(raw) > 16:
        raise InvalidInputError("at most 16 signals per item")
    out: dict[str, str] = {}
    for name, value in raw.items():
        st = get_signal_type(name)
        out[st.name] = st.validate(value)
    return out


def submission_from_signals(signals: FileSignals, *, source: str, keep_media: bytes | None) -> Submission:
    return Submission(
        signals=signals.signals(),
        source=source,
        pdq_quality=signals.pdq_quality,
        dihedral=signals.pdq_dihedral,
        media=keep_media,
        media_kind=str(signals.kind),
        media_format=signals.format,
        size=signals.size,
        hash_error=signals.error,
    )


def _match_dict(m: Match, verdict: str, flood: bool, record_id: int | None) -> dict[str, Any]:
    return {**m.to_dict(), "match_id": record_id, "verdict": verdict, "flood_controlled": flood}


@dataclass(slots=True)
class _Pending:
    match: Match
    kind: str
    verdict: str
    flood: bool


def replayed_result(
    row: ContentRow, *, signals: dict[str, str], hash_error: str | None = None
) -> MatchResult:
    """The answer first given for a content record, given again (idempotent ``content_id``)."""
    stored = dict(row.result)
    return MatchResult(
        content_id=row.id,
        client_content_id=row.client_ref,
        submitted_at=row.submitted_at.isoformat(),
        verdict=str(stored.get("verdict", row.verdict)),
        matches=list(stored.get("matches", [])),
        allowlisted=list(stored.get("allowlisted", [])),
        suppressed=int(stored.get("suppressed", 0)),
        review_item_id=stored.get("review_item_id"),
        low_quality=bool(stored.get("low_quality", False)),
        flood_controlled=bool(stored.get("flood_controlled", False)),
        signals=signals,
        replayed=True,
        hash_error=hash_error,
    )


class ContentService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        matcher: Matcher,
        blobs: BlobStore | None,
        actor: str = "api",
        writer: RecordWriter | None = None,
    ) -> None:
        self.writer = writer
        self.store = store
        self.settings = settings
        self.matcher = matcher
        self.blobs = blobs
        self.actor = actor

    # --- hashing -----------------------------------------------------------------------------

    def hash_upload(self, data: bytes, *, dihedral: bool = False) -> FileSignals:
        """Signals of uploaded content (videos included), under the upload size and duration limits."""
        return hash_upload(data, self.settings, dihedral=dihedral)

    def robust_query(self, data: bytes, signals: FileSignals) -> Any:
        """For a picture, when a bank is robust: the picture as robust banks look for it (the
        upload was already decoded within the service's limits by :meth:`hash_upload`)."""
        if signals.pdq is None or not self.matcher.robust_active:
            return None
        from ohsc.robust.descriptor import query_of  # OpenCV: only when a bank is robust

        return query_of(data, self.settings.upload_max_image_pixels)

    # --- matching ----------------------------------------------------------------------------

    def _replay(self, row: ContentRow, sub: Submission) -> MatchResult:
        stored = dict(row.result)
        if stored.get("digest") not in (None, sub.digest()):
            raise ContentIdConflictError(
                f"content_id {row.client_ref!r} was used before for different content (record {row.id})"
            )
        return replayed_result(row, signals=sub.signals, hash_error=sub.hash_error)

    def find_by_client_ref(self, client_ref: str) -> ContentRow | None:
        with self.store.session() as s:
            return s.scalar(select(ContentRow).where(ContentRow.client_ref == client_ref))

    def submit(
        self, sub: Submission, *, actor: str | None = None, outcome: MatchOutcome | None = None
    ) -> MatchResult:
        """Match one item, apply the rules, record everything; idempotent by ``client_ref``."""
        if sub.client_ref is not None:
            sub.client_ref = sub.client_ref.strip()
            if not 1 <= len(sub.client_ref) <= MAX_CLIENT_REF:
                raise InvalidInputError(f"content_id must be 1 to {MAX_CLIENT_REF} characters")
            existing = self.find_by_client_ref(sub.client_ref)
            if existing is not None:
                return self._replay(existing, sub)
        if outcome is None:
            outcome = self.match_outcome(sub)
        try:
            return self._record(
                sub, outcome.matches, outcome.allowlisted, outcome.suppressed, outcome.low_quality, actor
            )
        except IntegrityError:
            # another request with the same content_id won the race: answer what it answered
            if sub.client_ref is None:
                raise
            existing = self.find_by_client_ref(sub.client_ref)
            if existing is None:
                raise
            return self._replay(existing, sub)

    def _record(
        self,
        sub: Submission,
        matches: list[Match],
        allowlisted: list[Match],
        suppressed: list[Match],
        low_quality: bool,
        actor: str | None,
    ) -> MatchResult:
        actor = actor or self.actor
        now = utcnow()
        if not (matches or allowlisted or suppressed):
            return self._record_plain(sub, low_quality, now)
        # the review media are stored in this unit: gone again if the records do not commit
        with unit_of_work(self.store, self.blobs) as work:
            s = work.session
            decision = (
                decide(s, self.settings, matches, allowlisted) if (matches or allowlisted) else Decision()
            )
            matched = bool(matches)
            row = ContentRow(
                client_ref=sub.client_ref,
                api_key_id=sub.api_key_id,
                source=sub.source,
                submitted_at=now,
                media_kind=sub.media_kind,
                media_format=sub.media_format,
                size=sub.size,
                # hashes of content that matched nothing are not kept (privacy of ordinary uploads)
                signals=sub.signals if (matched or allowlisted) else {},
                pdq_quality=sub.pdq_quality,
                verdict=decision.verdict.value,
                matched=matched,
                result={},
            )
            s.add(row)
            s.flush()
            pending: list[_Pending] = [
                _Pending(a.match, "match", a.verdict.value, a.flood_controlled) for a in decision.actions
            ]
            pending += [_Pending(m, "allowlist", Verdict.ALLOW.value, False) for m in allowlisted]
            pending += [_Pending(m, "suppressed", Verdict.ALLOW.value, False) for m in suppressed]
            records = _add_match_records(s, row.id, pending, now)
            result = MatchResult(
                content_id=row.id,
                client_content_id=sub.client_ref,
                submitted_at=now.isoformat(),
                verdict=decision.verdict.value,
                matches=[
                    _match_dict(p.match, p.verdict, p.flood, r.id)
                    for p, r in zip(pending, records, strict=True)
                    if p.kind == "match"
                ],
                allowlisted=[
                    _match_dict(p.match, p.verdict, False, r.id)
                    for p, r in zip(pending, records, strict=True)
                    if p.kind == "allowlist"
                ],
                suppressed=len(suppressed),
                low_quality=low_quality,
                flood_controlled=decision.flood_controlled,
                signals=sub.signals,
                hash_error=sub.hash_error,
            )
            if matched and decision.review:
                if sub.media is not None and self.blobs is not None:
                    row.media_blob_id = work.put(REVIEW, sub.media)
                item = create_item(s, row, decision, [r for r in records if r.kind == "match"])
                result.review_item_id = item.id
            row.result = {**result.stored(), "digest": sub.digest()}
            if matched:
                self._announce(s, actor, row.id, matches, decision, result, sub)
            return result

    def _announce(
        self,
        s: Session,
        actor: str,
        content_id: int,
        matches: list[Match],
        decision: Decision,
        result: MatchResult,
        sub: Submission,
    ) -> None:
        """The audit events and webhook events of a match, in the transaction that records it."""
        audit.record(
            s,
            actor=actor,
            action="content.match",
            object_type="content",
            object_id=content_id,
            details={
                "verdict": decision.verdict.value,
                "entries": [m.entry_id for m in matches],
                "review_item_id": result.review_item_id,
                "flood_controlled": decision.flood_controlled,
            },
        )
        for entry_id in decision.flood_started:
            audit.record(
                s,
                actor="system",
                action="flood.start",
                object_type="entry",
                object_id=entry_id,
                details={"content_id": content_id},
            )
        if decision.notify:
            events.emit(s, events.MATCH_CREATED, self._event_payload(result, sub))
        if result.review_item_id is not None:
            events.emit(
                s,
                events.REVIEW_CREATED,
                {"review_item_id": result.review_item_id, "content_id": content_id},
            )

    def match_outcome(self, sub: Submission) -> MatchOutcome:
        return self.matcher.match(
            sub.signals,
            pdq_quality=sub.pdq_quality,
            dihedral=sub.dihedral,
            approximate_dihedral_from_hash=sub.approximate_dihedral,
            robust=sub.robust,
        )

    async def submit_async(self, sub: Submission, *, actor: str | None = None) -> MatchResult:
        """:meth:`submit` for the event loop: the common case (nothing matched) never leaves it.

        Matching is quick (the index kernels release the GIL) and the row goes to the group
        committer. A repeated ``content_id`` fails that insert and is answered as before, and
        anything that matched takes the full path in a worker thread.
        """
        if sub.client_ref is not None:
            sub.client_ref = sub.client_ref.strip()
            if not 1 <= len(sub.client_ref) <= MAX_CLIENT_REF:
                raise InvalidInputError(f"content_id must be 1 to {MAX_CLIENT_REF} characters")
        outcome = self.match_outcome(sub)
        if self.writer is None or outcome.matches or outcome.allowlisted or outcome.suppressed:
            return await asyncio.to_thread(self.submit, sub, actor=actor, outcome=outcome)
        now = utcnow()
        try:
            content_id = await self.writer.insert_async(self._plain_values(sub, outcome.low_quality, now))
        except IntegrityError:
            return await asyncio.to_thread(self.submit, sub, actor=actor)  # a repeated content_id
        return self._plain_result(sub, outcome.low_quality, now, content_id)

    def _plain_values(self, sub: Submission, low_quality: bool, now: datetime) -> dict[str, Any]:
        stored = {
            "verdict": Verdict.NONE.value,
            "matches": [],
            "allowlisted": [],
            "suppressed": 0,
            "review_item_id": None,
            "low_quality": low_quality,
            "flood_controlled": False,
            "digest": sub.digest(),
        }
        return {
            "client_ref": sub.client_ref,
            "api_key_id": sub.api_key_id,
            "source": sub.source,
            "submitted_at": now,
            "media_kind": sub.media_kind,
            "media_format": sub.media_format,
            "size": sub.size,
            "signals": {},
            "pdq_quality": sub.pdq_quality,
            "verdict": Verdict.NONE.value,
            "matched": False,
            "result": stored,
            "media_blob_id": None,
            "media_purged_at": None,
        }

    @staticmethod
    def _plain_result(sub: Submission, low_quality: bool, now: datetime, content_id: int) -> MatchResult:
        return MatchResult(
            content_id=int(content_id),
            client_content_id=sub.client_ref,
            submitted_at=now.isoformat(),
            verdict=Verdict.NONE.value,
            low_quality=low_quality,
            signals=sub.signals,
            hash_error=sub.hash_error,
        )

    def _record_plain(self, sub: Submission, low_quality: bool, now: datetime) -> MatchResult:
        """The common case, nothing matched: one INSERT, no hashes kept."""
        values = self._plain_values(sub, low_quality, now)
        if self.writer is not None:
            content_id = self.writer.insert(values)
        else:
            with self.store.session() as s:
                content_id = s.execute(
                    insert(ContentRow).values(**values).returning(ContentRow.id)
                ).scalar_one()
        return self._plain_result(sub, low_quality, now, content_id)

    @staticmethod
    def _event_payload(result: MatchResult, sub: Submission) -> dict[str, Any]:
        return {
            "content_id": result.content_id,
            "client_content_id": result.client_content_id,
            "verdict": result.verdict,
            "review_item_id": result.review_item_id,
            "flood_controlled": result.flood_controlled,
            "matches": [
                {
                    k: m[k]
                    for k in (
                        "bank",
                        "entry_id",
                        "external_id",
                        "signal_type",
                        "distance",
                        "category",
                        "labels",
                        "verdict",
                    )
                }
                for m in result.matches
            ],
            "signals": sub.signals,
        }

    # --- reading -----------------------------------------------------------------------------

    def get(self, content_id: int) -> ContentRow:
        with self.store.session() as s:
            row = s.get(ContentRow, content_id)
            if row is None:
                raise ContentNotFoundError(f"no content record {content_id}")
            return row

    def record(self, content_id: int) -> ContentRecord:
        """The content record with its review item, if it went to review."""
        row = self.get(content_id)
        with self.store.session() as s:
            item_id = s.scalar(select(ReviewItemRow.id).where(ReviewItemRow.content_item_id == row.id))
        return ContentRecord(
            id=row.id,
            content_id=row.client_ref,
            source=row.source,
            submitted_at=row.submitted_at,
            verdict=row.verdict,
            matched=row.matched,
            media_kind=row.media_kind,
            media_held=row.media_blob_id is not None,
            media_purged=row.media_purged_at is not None,
            review_item_id=item_id,
        )


def _add_match_records(
    s: Session, content_id: int, pending: list[_Pending], now: datetime
) -> list[MatchRecordRow]:
    """One match record per pending match (matches, allowlisted, suppressed), flushed for ids."""
    records: list[MatchRecordRow] = []
    for p in pending:
        rec = MatchRecordRow(
            content_item_id=content_id,
            bank_id=p.match.bank_id,
            bank_name=p.match.bank_name,
            entry_id=p.match.entry_id,
            external_id=p.match.external_id,
            signal_type=p.match.signal_type,
            distance=p.match.distance,
            threshold=p.match.threshold,
            category=p.match.category,
            labels=list(p.match.labels),
            source=p.match.source,
            kind=p.kind,
            verdict=p.verdict,
            flood_controlled=p.flood,
            created_at=now,
        )
        s.add(rec)
        records.append(rec)
    if records:
        s.flush()
    return records
