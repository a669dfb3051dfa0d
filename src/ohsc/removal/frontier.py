"""The persistent crawl frontier: reported and discovered URLs, their sources and their state.

Every URL is one row (keyed by the SHA-256 of its normalised form), so a URL reported twice,
or by an analyst and a platform, merges into one row with two sources. A crawler *takes* URLs
by writing a lease (``OHSC_CRAWL_LEASE_SECONDS``) in the same transaction that reads them; a URL
is *finished* in one transaction with what was found on it. A crawler killed at any point leaves
at most leases that run out: nothing is lost, and nothing is half-written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.errors import CrawlUrlNotFoundError, EgressRefusedError, InvalidInputError
from ohsc.net import EgressGuard
from ohsc.removal.models import CrawlUrlRow, CrawlUrlSourceRow
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.types import IsoTime, utcnow

SOURCES = ("analyst", "api", "public")
MAX_URL_CHARS = 4000
#: URLs one call may add
MAX_ADD = 10_000
#: rows per statement (SQLite allows 32,766 bound values in one)
CHUNK = 500


def normalise_url(raw: str) -> str:
    """The form URLs are compared in: scheme and host lower case, default port and fragment gone."""
    text = (raw or "").strip()
    if not text or len(text) > MAX_URL_CHARS:
        raise InvalidInputError(f"a URL is 1-{MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInputError("the URL cannot be parsed (bad host or port)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError("the URL must be an http:// or https:// URL with a host")
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != (443 if scheme == "https" else 80):
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class Added(BaseModel):
    """A reported URL as queued (``new``) or merged into one already known (the library's, the
    CLI's ``--json`` and ``POST /v1/urls``'s shape)."""

    model_config = ConfigDict(frozen=True)

    id: int
    url: str
    new: bool


@dataclass(frozen=True, slots=True)
class CrawlTask:
    """A URL taken from the frontier by one crawler."""

    id: int
    url: str
    kind: str
    depth: int
    seed_id: int
    parent_url: str


@dataclass(frozen=True, slots=True)
class Finished:
    """What fetching a taken URL gave (:meth:`Frontier.finish_many`)."""

    task: CrawlTask
    state: str
    http_status: int | None = None
    error: str | None = None
    media_found: int = 0
    matched: bool = False


class CrawlUrl(BaseModel):
    """A URL in the frontier and its crawl state (the library's, the CLI's ``--json`` and
    ``GET /v1/urls/{id}``'s shape)."""

    model_config = ConfigDict(frozen=True)

    id: int
    url: str
    host: str
    kind: str
    depth: int
    state: str
    http_status: int | None
    error: str | None
    media_found: int
    matched: bool
    sources: tuple[str, ...]
    created_at: IsoTime
    fetched_at: IsoTime | None


class Frontier:
    """Intake of reported URLs and the crawler's queue."""

    def __init__(self, store: Store, settings: Settings, *, actor: str = "system") -> None:
        self.store = store
        self.settings = settings
        self.actor = actor
        self.guard = EgressGuard.from_settings(settings, allow_internal=settings.crawl_allow_private_targets)
        #: pages each seed has in the frontier, as last counted plus what this object added
        self._seed_pages: dict[int, int] = {}

    # --- intake ------------------------------------------------------------------------------

    def check(self, raw: str) -> str:
        """A reported URL in its normal form; refuses internal targets unless allowed."""
        url = normalise_url(raw)
        try:
            self.guard.check(url)
        except EgressRefusedError as exc:
            raise EgressRefusedError(
                exc.message.replace(
                    "OHSC_EGRESS_ALLOW", "OHSC_CRAWL_ALLOW_PRIVATE_TARGETS or OHSC_EGRESS_ALLOW"
                )
            ) from None
        return url

    def add(
        self, urls: Sequence[str], *, source: str, reporter: str | None = None, note: str = ""
    ) -> list[Added]:
        """Queue reported URLs (all or none: a bad one refuses the call). Duplicates merge."""
        if source not in SOURCES:
            raise InvalidInputError(f"source is one of {', '.join(SOURCES)}")
        if not urls or len(urls) > MAX_ADD:
            raise InvalidInputError(f"give 1-{MAX_ADD} URLs")
        checked = list(dict.fromkeys(self.check(u) for u in urls))
        who = (reporter or self.actor)[:200]
        with self.store.session() as s:
            added = [self._add_one(s, url, source, who, note[:500]) for url in checked]
            audit.record(
                s,
                actor=self.actor,
                action="crawl.add",
                object_type="crawl_url",
                object_id=added[0].id if len(added) == 1 else None,
                details={
                    "source": source,
                    "ids": [a.id for a in added][:500],
                    "new": sum(a.new for a in added),
                    "merged": sum(not a.new for a in added),
                },
            )
        return added

    def _add_one(self, s: Session, url: str, source: str, reporter: str, note: str) -> Added:
        key = url_key(url)
        row = s.scalar(select(CrawlUrlRow).where(CrawlUrlRow.url_key == key))
        new = row is None
        if row is None:
            row = CrawlUrlRow(url_key=key, url=url, host=host_of(url), kind="page", depth=0, state="queued")
            s.add(row)
            s.flush()
            row.seed_id = row.id
        elif row.depth > 0 or row.state == "failed":
            # found by the crawler before, or failed: a report makes it a seed and queues it again
            row.depth, row.seed_id, row.state, row.lease_until = 0, row.id, "queued", None
        exists = s.scalar(
            select(CrawlUrlSourceRow.id).where(
                CrawlUrlSourceRow.url_id == row.id,
                CrawlUrlSourceRow.source == source,
                CrawlUrlSourceRow.reporter == reporter,
            )
        )
        if exists is None:
            s.add(CrawlUrlSourceRow(url_id=row.id, source=source, reporter=reporter, note=note))
        return Added(id=row.id, url=url, new=new)

    # --- the crawler's side ------------------------------------------------------------------

    def take(self, limit: int, *, now: datetime | None = None) -> list[CrawlTask]:
        """Lease up to ``limit`` URLs: queued ones, and ones whose crawler died (lease ran out).

        One statement picks and leases them (``UPDATE ... WHERE id IN (SELECT ... LIMIT n)
        RETURNING``; on PostgreSQL the pick skips rows another crawler is leasing), so crawlers
        in several processes sharing the frontier never take the same URL."""
        now = now or utcnow()
        lease = now + timedelta(seconds=self.settings.crawl_lease_seconds)
        with self.store.write_lock(), self.store.session() as s:
            pick = (
                select(CrawlUrlRow.id)
                .where(
                    CrawlUrlRow.state == "queued",
                    or_(CrawlUrlRow.lease_until.is_(None), CrawlUrlRow.lease_until < now),
                )
                .order_by(CrawlUrlRow.depth, CrawlUrlRow.id)
                .limit(limit)
            )
            if s.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            table = CrawlUrlRow.__table__
            assert isinstance(table, Table)
            leased = s.execute(
                update(table)
                .where(table.c.id.in_(pick.scalar_subquery()))
                .values(lease_until=lease, attempts=table.c.attempts + 1)
                .returning(
                    table.c.id, table.c.url, table.c.kind, table.c.depth, table.c.seed_id, table.c.parent_id
                )
            ).all()
            rows = sorted(leased, key=lambda r: (r.depth, r.id))
            parents = self._urls(s, {r.parent_id for r in rows if r.parent_id})
            return [
                CrawlTask(r.id, r.url, r.kind, r.depth, r.seed_id or r.id, parents.get(r.parent_id or 0, ""))
                for r in rows
            ]

    @staticmethod
    def _urls(s: Session, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        query = select(CrawlUrlRow.id, CrawlUrlRow.url).where(CrawlUrlRow.id.in_(ids))
        return {int(i): str(u) for i, u in s.execute(query)}

    def finish(
        self,
        s: Session,
        task: CrawlTask,
        *,
        state: str,
        http_status: int | None = None,
        error: str | None = None,
        media_found: int = 0,
        matched: bool = False,
    ) -> None:
        """Record a URL's outcome in the caller's transaction (with what was found on it)."""
        self.finish_many(s, [Finished(task, state, http_status, error, media_found, matched)])

    def finish_many(self, s: Session, outcomes: Sequence[Finished]) -> None:
        """Record many URLs' outcomes in the caller's transaction: one statement run for all."""
        if not outcomes:
            return
        now = utcnow()
        rows = [
            {
                "b_id": o.task.id,
                "state": o.state,
                "http_status": o.http_status,
                "error": (o.error or None) and o.error[:300],
                "media_found": o.media_found,
                "matched": o.matched,
                "fetched_at": now,
            }
            for o in outcomes
        ]
        table = CrawlUrlRow.__table__
        assert isinstance(table, Table)
        # one UPDATE by primary key, executed for every row (Core: no ORM bookkeeping per row)
        s.execute(update(table).where(table.c.id == bindparam("b_id")).values(lease_until=None), rows)

    def discover(self, s: Session, parent: CrawlTask, urls: Iterable[str], *, kind: str) -> int:
        """Queue URLs found on ``parent`` (pages: same host, within depth and the per-seed cap)."""
        return self.discover_many(s, [(parent, list(urls), kind)])

    def discover_many(self, s: Session, found: Sequence[tuple[CrawlTask, Sequence[str], str]]) -> int:
        """Queue the URLs found on several pages (``(parent, urls, kind)``, in order) at once.

        The first page that names a URL is its parent. Pages stay on their parent's host, within
        ``OHSC_CRAWL_MAX_DEPTH`` and ``OHSC_CRAWL_MAX_PAGES_PER_SEED``. One query looks up which
        URLs are known and one statement adds the rest, whatever the number of pages."""
        wanted: dict[str, tuple[str, CrawlTask, str]] = {}
        for parent, urls, kind in found:
            if kind == "page" and parent.depth + 1 > self.settings.crawl_max_depth:
                continue
            parent_host = host_of(parent.url)
            for raw in urls:
                try:
                    url = normalise_url(raw)
                except InvalidInputError:
                    continue
                if kind == "page" and host_of(url) != parent_host:
                    continue  # scope: pages of the reported host only; media may be anywhere
                wanted.setdefault(url_key(url), (url, parent, kind))
        if not wanted:
            return 0
        known: set[str] = set()
        keys = list(wanted)
        for i in range(0, len(keys), CHUNK):
            known.update(
                s.scalars(select(CrawlUrlRow.url_key).where(CrawlUrlRow.url_key.in_(keys[i : i + CHUNK])))
            )
        fresh = [(k, *v) for k, v in wanted.items() if k not in known]
        fresh = self._within_seed_caps(s, fresh)
        if not fresh:
            return 0
        now = utcnow()
        values = [
            {
                "url_key": key,
                "url": url,
                "host": host_of(url),
                "kind": kind,
                "depth": parent.depth + 1,
                "seed_id": parent.seed_id,
                "parent_id": parent.id,
                "state": "queued",
                "attempts": 0,
                "media_found": 0,
                "matched": False,
                "created_at": now,
            }
            for key, url, parent, kind in fresh
        ]
        # another crawler may add the same URL at the same moment: the first one wins. One
        # statement for any number of rows (executemany: compiled once and cached, where a
        # multi-row VALUES is compiled again for every new row count)
        table = CrawlUrlRow.__table__
        assert isinstance(table, Table)
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(insert(table).on_conflict_do_nothing(index_elements=["url_key"]), values)
        return len(fresh)

    def _within_seed_caps(
        self, s: Session, fresh: list[tuple[str, str, CrawlTask, str]]
    ) -> list[tuple[str, str, CrawlTask, str]]:
        """Drop new pages past their seed's ``OHSC_CRAWL_MAX_PAGES_PER_SEED``.

        A seed's page count is counted in the database once and then kept up here as pages are
        added (counting on every page would read every page of a large site each time); it is
        counted again when a seed comes near its cap, so pages other crawlers added are seen."""
        cap = self.settings.crawl_max_pages_per_seed
        adding: dict[int, int] = {}
        for _key, _url, parent, kind in fresh:
            if kind == "page":
                adding[parent.seed_id] = adding.get(parent.seed_id, 0) + 1
        recount = [
            seed
            for seed, n in adding.items()
            if seed not in self._seed_pages or self._seed_pages[seed] + n > cap
        ]
        for i in range(0, len(recount), CHUNK):
            chunk = recount[i : i + CHUNK]
            counted = dict.fromkeys(chunk, 0)
            query = (
                select(CrawlUrlRow.seed_id, func.count())
                .where(CrawlUrlRow.seed_id.in_(chunk), CrawlUrlRow.kind == "page")
                .group_by(CrawlUrlRow.seed_id)
            )
            counted.update({int(seed or 0): int(n) for seed, n in s.execute(query)})
            self._seed_pages.update(counted)
        kept = []
        for item in fresh:
            seed = item[2].seed_id
            if item[3] == "page":
                if self._seed_pages[seed] >= cap:
                    continue
                self._seed_pages[seed] += 1
            kept.append(item)
        return kept

    # --- reading -----------------------------------------------------------------------------

    def pending(self) -> int:
        with self.store.session() as s:
            return int(s.scalar(select(func.count()).where(CrawlUrlRow.state == "queued")) or 0)

    def counts(self) -> dict[str, int]:
        with self.store.session() as s:
            rows = s.execute(
                select(CrawlUrlRow.kind, CrawlUrlRow.state, func.count()).group_by(
                    CrawlUrlRow.kind, CrawlUrlRow.state
                )
            )
            return {f"{kind}_{state}": int(n) for kind, state, n in rows}

    def list_urls(
        self, *, state: str | None = None, kind: str | None = None, limit: int = 100, after: int = 0
    ) -> list[CrawlUrl]:
        with self.store.session() as s:
            q = select(CrawlUrlRow).where(CrawlUrlRow.id > after).order_by(CrawlUrlRow.id)
            if state:
                q = q.where(CrawlUrlRow.state == state)
            if kind:
                q = q.where(CrawlUrlRow.kind == kind)
            rows = list(s.scalars(q.limit(max(1, min(limit, 10_000)))))
            return [self._to(s, r) for r in rows]

    def get(self, url_id: int) -> CrawlUrl:
        with self.store.session() as s:
            row = s.get(CrawlUrlRow, url_id)
            if row is None:
                raise CrawlUrlNotFoundError(f"no crawl URL {url_id}")
            return self._to(s, row)

    @staticmethod
    def _to(s: Session, r: CrawlUrlRow) -> CrawlUrl:
        sources = s.scalars(
            select(CrawlUrlSourceRow.source)
            .where(CrawlUrlSourceRow.url_id == r.id)
            .order_by(CrawlUrlSourceRow.id)
        )
        return CrawlUrl(
            id=r.id,
            url=r.url,
            host=r.host,
            kind=r.kind,
            depth=r.depth,
            state=r.state,
            http_status=r.http_status,
            error=r.error,
            media_found=r.media_found,
            matched=r.matched,
            sources=tuple(dict.fromkeys(sources)),
            created_at=r.created_at,
            fetched_at=r.fetched_at,
        )
