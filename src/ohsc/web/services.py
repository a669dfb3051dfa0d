"""What every request needs, opened once per server process: store, matcher, services, limits."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from ohsc.accounts.ratelimit import TokenBucket
from ohsc.accounts.service import AccountService
from ohsc.accounts.sessions import SessionService
from ohsc.actions.sealing import content_key
from ohsc.actions.service import ActionService
from ohsc.actions.webhooks import WebhookService
from ohsc.banks.service import BankService
from ohsc.content.media import open_blob_store
from ohsc.content.service import ContentService
from ohsc.errors import StoreError
from ohsc.matching.matcher import Matcher
from ohsc.media.blobs import BlobStore
from ohsc.review.grants import GrantSigner
from ohsc.review.service import ReviewService
from ohsc.settings import Settings
from ohsc.store.db import Store

log = logging.getLogger(__name__)


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
    matcher: Matcher | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    load_error: str | None = None
    #: set by extensions: anything they want to keep per process
    extras: dict[str, object] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings, store: Store | None = None) -> Services:
        store = store or Store.from_settings(settings)
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
        )

    def load_indexes(self) -> None:
        """Open the match indexes (from their files, or rebuilt); then the server is ready."""
        try:
            self.matcher = Matcher.open(self.store, self.settings)
        except Exception as exc:  # reported by /health/ready, and in the log
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("could not load the match indexes")
            raise
        self.ready.set()

    def require_matcher(self) -> Matcher:
        if self.matcher is None or not self.ready.is_set():
            raise NotReadyError("the match indexes are still loading; try again shortly")
        return self.matcher

    def content(self, actor: str) -> ContentService:
        return ContentService(self.store, self.settings, self.require_matcher(), self.blobs, actor=actor)

    def banks(self, actor: str) -> BankService:
        return BankService(self.store, self.settings, actor=actor)

    def actions(self, actor: str) -> ActionService:
        return ActionService(self.store, self.settings, actor=actor)

    def webhooks(self, actor: str) -> WebhookService:
        return WebhookService(self.store, self.settings, actor=actor)
