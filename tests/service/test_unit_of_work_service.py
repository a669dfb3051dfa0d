"""The service's blob writes fail cleanly: a failure after the blob was stored (a database
constraint, a hook that raises) leaves neither the blob nor its rows (review media, bank
reference thumbnails). See also ``tests/test_unit_of_work.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from svc_helpers import Env, image
from tests.failures import blob_files, refused

from ohsc.actions import events
from ohsc.content.media import REFERENCE, REVIEW
from ohsc.content.models import ContentRow
from ohsc.review.models import EntryThumbnailRow


@pytest.fixture
def quiet_client(env: Env) -> Iterator[TestClient]:
    """A client that gets the 500 answer instead of the server's exception."""
    with TestClient(env.app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield client


def test_a_thumbnail_whose_rows_fail_leaves_no_blob(env: Env, quiet_client: TestClient) -> None:
    env.bank("refs")
    r = env.client.put("/v1/banks/refs/policy", json={"keep_thumbnails": True}, headers=env.key())
    assert r.status_code == 200
    with refused(env.store, "entry_thumbnails"):
        r = quiet_client.post(
            "/v1/banks/refs/entries", files={"file": ("x.jpg", image(41))}, headers=env.key()
        )
    assert r.status_code == 500
    assert blob_files(env.settings, REFERENCE) == []
    with env.store.session() as s:
        assert s.scalar(select(func.count(EntryThumbnailRow.entry_id))) == 0
    env.add_image("refs", 42)
    assert len(blob_files(env.settings, REFERENCE)) == 1


def test_review_media_of_a_failed_match_are_not_kept(env: Env, quiet_client: TestClient) -> None:
    env.bank("known")
    env.add_image("known", 43)

    def refuse(_session: Session, _event: events.Event) -> None:
        raise RuntimeError("a hook refused the review item")

    events.subscribe(events.REVIEW_CREATED, refuse)
    try:
        r = quiet_client.post("/v1/match", files={"file": ("u.jpg", image(43))}, headers=env.key("match"))
    finally:
        events.unsubscribe(events.REVIEW_CREATED, refuse)
    assert r.status_code == 500
    assert blob_files(env.settings, REVIEW) == []
    with env.store.session() as s:
        assert s.scalar(select(func.count(ContentRow.id))) == 0
    assert env.match_image(43)["review_item_id"] is not None
    assert len(blob_files(env.settings, REVIEW)) == 1
