"""Retention: review media go after the decision (or when nobody decides), unmatched records go."""

from __future__ import annotations

from datetime import timedelta

from svc_helpers import Env

from ohsc.content.models import ContentRow
from ohsc.review.model import Choice, Reviewer
from ohsc.store.types import utcnow
from ohsc.submissions.retention import purge


def test_purge(env: Env) -> None:
    env.bank("known")
    env.add_image("known", 80)
    env.add_image("known", 81)
    decided = env.match_image(80)["review_item_id"]
    undecided = env.match_image(81)
    plain = env.match_image(82)
    env.user("alice")
    alice = Reviewer.of_user(env.services.accounts.get_user("alice"))
    env.services.review.decide(decided, alice, Choice.CONFIRM)
    assert purge(env.store, env.settings, env.services.blobs).media_deleted == 0
    later = utcnow() + timedelta(days=env.settings.media_retention_days + 1)
    report = purge(env.store, env.settings, env.services.blobs, now=later)
    assert report.media_deleted == 1
    assert report.records_deleted == 1
    assert env.services.review.get(decided).media_purged
    assert env.services.review.get(undecided["review_item_id"]).has_media
    with env.store.session() as s:
        assert s.get(ContentRow, plain["content"]["id"]) is None
    much_later = utcnow() + timedelta(days=env.settings.undecided_media_retention_days + 1)
    assert purge(env.store, env.settings, env.services.blobs, now=much_later).media_deleted == 1
    assert not any((env.settings.blobs_dir / "review").rglob("*")) or all(
        p.is_dir() for p in (env.settings.blobs_dir / "review").rglob("*")
    )
