"""Re-check notified URLs until they are gone; notify again while they are not.

Each open takedown is checked when ``next_check_at`` comes (every ``OHSC_REMOVAL_RECHECK_HOURS``,
24 h by default), with a conditional request (``If-None-Match`` / ``If-Modified-Since``) and the
crawler's per-host politeness:

* **404 or 410**: removed. **200** with media that no longer match the banks: removed (replaced).
  The removal time is from the first notice to this first check that found it gone.
* **304**, or **200** with media that still match: still up; the notice is sent again (escalating
  to the upstream network after ``OHSC_REMOVAL_ESCALATE_AFTER`` notices).
* anything else (timeouts, 5xx): unknown; checked again next time, no notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ohsc import audit
from ohsc.errors import OhscError
from ohsc.matching.matcher import Matcher
from ohsc.removal.http import CrawlHttp, FetchFailed
from ohsc.removal.models import TakedownRow
from ohsc.removal.notices import NoticeService
from ohsc.settings import Settings
from ohsc.signals.files import hash_upload
from ohsc.store.db import Store
from ohsc.store.types import utcnow


@dataclass(slots=True)
class RecheckStats:
    checked: int = 0
    removed: int = 0
    still_up: int = 0
    unknown: int = 0
    notices: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    url: str
    etag: str | None
    last_modified: str | None


class Rechecker:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        actor: str = "system",
        matcher: Matcher | None = None,
        http: CrawlHttp | None = None,
        notices: NoticeService | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self._matcher = matcher
        self.http = http or CrawlHttp(settings)
        self.notices = notices or NoticeService(store, settings, actor=actor)

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            self._matcher = Matcher.open(self.store, self.settings)
        return self._matcher

    def due(self, *, now: datetime, ids: Sequence[int] = (), everything: bool = False) -> list[_Due]:
        with self.store.session() as s:
            q = select(TakedownRow).where(TakedownRow.status == "open")
            if ids:
                q = q.where(TakedownRow.id.in_(list(ids)))
            elif not everything:
                q = q.where(TakedownRow.next_check_at <= now)
            return [_Due(r.id, r.url, r.etag, r.last_modified) for r in s.scalars(q.order_by(TakedownRow.id))]

    def run(
        self,
        *,
        ids: Sequence[int] = (),
        everything: bool = False,
        now: datetime | None = None,
        notify: bool = True,
    ) -> RecheckStats:
        """Check what is due (or ``ids``, or ``everything`` open); send notices for what is still up."""
        now = now or utcnow()
        stats = RecheckStats()
        due = self.due(now=now, ids=ids, everything=everything)
        with ThreadPoolExecutor(self.settings.crawl_concurrency, thread_name_prefix="recheck") as pool:
            outcomes = list(pool.map(self._check, due))
        still_up: list[int] = []
        with self.store.session() as s:
            for item, (verdict, status, etag, modified) in zip(due, outcomes, strict=True):
                row = s.get(TakedownRow, item.id)
                if row is None or row.status != "open":
                    continue
                stats.checked += 1
                row.checks += 1
                row.last_checked_at, row.last_check_status = now, status
                row.etag, row.last_modified = etag or row.etag, modified or row.last_modified
                row.next_check_at = now + timedelta(hours=self.settings.removal_recheck_hours)
                if verdict.startswith("removed"):
                    stats.removed += 1
                    row.status, row.removed_at, row.removed_reason = "removed", now, verdict.split(":", 1)[1]
                    row.next_check_at = None
                    if row.first_notice_at is not None:
                        row.removal_seconds = max(0.0, (now - row.first_notice_at).total_seconds())
                    audit.record(
                        s,
                        actor=self.actor,
                        action="takedown.removed",
                        object_type="takedown",
                        object_id=row.id,
                        details={"reason": row.removed_reason, "removal_seconds": row.removal_seconds},
                    )
                elif verdict == "up":
                    stats.still_up += 1
                    still_up.append(row.id)
                else:
                    stats.unknown += 1
        if notify and still_up:
            stats.notices = self.notices.send_round(still_up, now=now)
        return stats

    def _check(self, item: _Due) -> tuple[str, int | None, str | None, str | None]:
        """(verdict, HTTP status, ETag, Last-Modified); verdict: removed:<why> | up | unknown."""
        conditional = {}
        if item.etag:
            conditional["If-None-Match"] = item.etag
        if item.last_modified:
            conditional["If-Modified-Since"] = item.last_modified
        try:
            r = self.http.get(
                item.url,
                limit=self.settings.crawl_max_media_bytes,
                accept="image/*,video/*",
                conditional=conditional,
            )
        except FetchFailed as exc:
            return "unknown", exc.status, None, None
        if r.status in (404, 410):
            return f"removed:http_{r.status}", r.status, None, None
        if r.status == 304:
            return "up", 304, r.etag, r.last_modified
        if r.status != 200:
            return "unknown", r.status, None, None
        try:
            signals = hash_upload(r.body, self.settings)
        except OhscError:
            return "removed:not_media", 200, r.etag, r.last_modified
        outcome = self.matcher.match(signals.signals(), pdq_quality=signals.pdq_quality)
        if not outcome.matches:
            return "removed:no_match", 200, r.etag, r.last_modified
        return "up", 200, r.etag, r.last_modified

    def close(self) -> None:
        self.http.close()
