"""What every request needs, opened once per server process: store, matcher, services, limits."""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from ohsc.accounts.ratelimit import TokenBucket
from ohsc.accounts.service import AccountService
from ohsc.accounts.sessions import SessionService
from ohsc.actions.sealing import content_key
from ohsc.actions.service import ActionService
from ohsc.actions.webhooks import WebhookService
from ohsc.banks.service import BankService
from ohsc.content.media import open_blob_store
from ohsc.content.writer import RecordWriter
from ohsc.errors import StoreError
from ohsc.matching.matcher import Matcher
from ohsc.media.blobs import BlobStore
from ohsc.review.grants import GrantSigner
from ohsc.review.service import ReviewService
from ohsc.settings import Settings
from ohsc.store.db import Store, _sqlite_pragmas, prepare_sqlite_file
from ohsc.submissions.service import ContentService
from ohsc.web.background import Tasks

log = logging.getLogger(__name__)


class ServerStore(Store):
    """The store of a long-running server: pooled SQLite connections, a fair write lock.

    The core store opens and closes a SQLite connection per unit of work, which is right for the
    CLI and for forked scan workers, but closing the last connection of a WAL database checkpoints
    it (an fsync) every time: a server keeps a few connections open instead.

    Several server processes on one SQLite file each have a group-commit writer. SQLite lets a
    writer that finds the database locked sleep and retry (1, 2, 5 ... 100 ms), so the process
    that holds the lock keeps taking it back while the other sleeps: its requests stalled for
    seconds (issue 10, item 10). :meth:`write_lock` queues the writers on a ``flock`` instead,
    which wakes the next one as soon as the lock is free.
    """

    _writer_fd: int | None = None
    _writer_mutex: threading.Lock | None = None

    def _writer_lock_path(self) -> Path | None:
        parsed = make_url(self.url)
        if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
            return None
        return Path(parsed.database).with_name(Path(parsed.database).name + "-writer.lock")

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        path = self._writer_lock_path()
        if path is None:
            yield
            return
        if self._writer_mutex is None:
            self._writer_mutex = threading.Lock()
        with self._writer_mutex:  # threads of this process: one fd, one holder at a time
            if self._writer_fd is None:
                self._writer_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._writer_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    def dispose(self) -> None:
        super().dispose()
        fd, self._writer_fd = self._writer_fd, None
        if fd is not None:
            os.close(fd)

    @staticmethod
    def _create_engine(url: str) -> Engine:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
            return Store._create_engine(url)
        prepare_sqlite_file(url)
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=16,
            pool_timeout=60,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine


class NotReadyError(StoreError):
    code = "not_ready"
    http_status = 503


@dataclass(eq=False)
class Services:
    """Long-lived objects of one server process (``app.state.services``)."""

    settings: Settings
    store: Store
    blobs: BlobStore
    accounts: AccountService
    sessions: SessionService
    review: ReviewService
    match_limit: TokenBucket
    writer: RecordWriter
    matcher: Matcher | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    #: set while this process leads: it runs the jobs that act on the shared store (web.leader)
    leader: threading.Event = field(default_factory=threading.Event)
    load_error: str | None = None
    #: set by extensions: anything they want to keep per process
    extras: dict[str, object] = field(default_factory=dict)
    #: one-off work that requests started (background imports)
    tasks: Tasks = field(default_factory=Tasks)

    @classmethod
    def open(cls, settings: Settings, store: Store | None = None) -> Services:
        store = store or ServerStore.from_settings(settings)
        blobs = open_blob_store(settings)
        key = content_key(settings)
        return cls(
            settings=settings,
            store=store,
            blobs=blobs,
            accounts=AccountService(store, settings, actor="web"),
            sessions=SessionService(store, settings),
            review=ReviewService(store, settings, blobs, GrantSigner(key)),
            match_limit=TokenBucket(settings.match_rate_per_minute),
            writer=RecordWriter(store),
        )

    def load_indexes(self) -> None:
        """Open the match indexes (from their files, or rebuilt); then the server is ready."""
        try:
            self.matcher = Matcher.open(self.store, self.settings)
        except Exception as exc:  # the index-load job logs it, retries, and /health/ready says so
            self.load_error = f"{type(exc).__name__}: {exc}"
            raise
        # What exists after start-up (the app, the models, the compiled kernels) lives as long as
        # the process: moved out of the collector's sight, full collections stop pausing requests
        # for tenths of a second (measured in benchmarks/bench_service.py).
        gc.collect()
        gc.freeze()
        self.ready.set()

    def require_matcher(self) -> Matcher:
        if self.matcher is None or not self.ready.is_set():
            raise NotReadyError("the match indexes are still loading; try again shortly")
        return self.matcher

    def content(self, actor: str) -> ContentService:
        return ContentService(
            self.store, self.settings, self.require_matcher(), self.blobs, actor=actor, writer=self.writer
        )

    def banks(self, actor: str) -> BankService:
        return BankService(self.store, self.settings, actor=actor)

    def actions(self, actor: str) -> ActionService:
        return ActionService(self.store, self.settings, actor=actor)

    def webhooks(self, actor: str) -> WebhookService:
        return WebhookService(self.store, self.settings, actor=actor)
