"""Matched media recorded a group at a time (``TakedownService.record_many``): each item's
evidence (encrypted), its audit events and its takedown in one unit of work; the evidence is on
disk before the store's write lock is taken; a group that does not commit leaves nothing behind;
a URL another crawler recorded meanwhile is not recorded twice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ohsc.banks.service import BankService
from ohsc.evidence.tables import EvidenceItemRow
from ohsc.matching.matcher import Matcher
from ohsc.removal.hashing import MediaHasher
from ohsc.removal.models import TakedownRow
from ohsc.removal.takedowns import Matched, TakedownService
from ohsc.settings import Settings
from ohsc.store.db import Store
from ohsc.store.models import AuditEvent
from tests.images import encode, picture


def matched_media(store: Store, settings: Settings, tmp_path: Path, n: int) -> list[Matched]:
    """``n`` benign generated pictures, banked, then hashed and matched as the crawler does."""
    folder = tmp_path / "media"
    folder.mkdir()
    files = []
    for i in range(n):
        path = folder / f"{i}.jpg"
        path.write_bytes(encode(picture(400 + i, (160, 120)), "JPEG", quality=90))
        files.append(path)
    banks = BankService(store, settings, actor="test")
    banks.create_bank("known")
    _report, failed = banks.add_files("known", files)
    assert not failed
    matcher, hasher = Matcher.open(store, settings), MediaHasher(settings)
    out = []
    for i, path in enumerate(files):
        data = path.read_bytes()
        signals = hasher(data)
        assert not isinstance(signals, str)
        match = matcher.match(signals.signals(), pdq_quality=signals.pdq_quality).matches[0]
        out.append(
            Matched(
                f"http://host.example/m/{i}.jpg", "http://host.example/p.html", None, signals, match, data
            )
        )
    hasher.close()
    return out


def blob_files(settings: Settings) -> list[Path]:
    return [p for p in settings.blobs_dir.rglob("*") if p.is_file()]


def counts(store: Store) -> dict[str, int]:
    with store.session() as s:
        events = dict(
            s.execute(
                select(AuditEvent.action, func.count())
                .where(AuditEvent.action.in_(["evidence.preserve", "takedown.create"]))
                .group_by(AuditEvent.action)
            ).all()
        )
        return {
            "evidence": int(s.scalar(select(func.count()).select_from(EvidenceItemRow)) or 0),
            "takedowns": int(s.scalar(select(func.count()).select_from(TakedownRow)) or 0),
            "evidence.preserve": int(events.get("evidence.preserve", 0)),
            "takedown.create": int(events.get("takedown.create", 0)),
        }


def test_a_group_of_matches_is_recorded_in_one_unit_of_work(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    m = matched_media(store, settings, tmp_path, 3)
    takedowns = TakedownService(store, settings, actor="crawler")
    first, created = takedowns.record(
        url=m[0].url,
        page_url=m[0].page_url,
        crawl_url_id=None,
        signals=m[0].signals,
        match=m[0].match,
        data=m[0].data,
    )
    assert created
    recorded = takedowns.record_many([m[0], m[1], m[2], m[1]])  # one known already, one named twice
    assert recorded[0] == (first, False)
    assert recorded[1][1] and recorded[2][1]
    assert recorded[3] == (recorded[1][0], False)
    assert counts(store) == {"evidence": 3, "takedowns": 3, "evidence.preserve": 3, "takedown.create": 3}
    with store.session() as s:
        rows = {r.url: r for r in s.scalars(select(TakedownRow))}
        evidence = {e.id: e for e in s.scalars(select(EvidenceItemRow))}
    for item in m:
        row = rows[item.url]
        assert row.status == "open" and row.md5 == item.signals.md5 and row.bank == "known"
        assert row.evidence_id is not None and evidence[row.evidence_id].subject_id == row.url_key
    blobs = blob_files(settings)
    assert len(blobs) == 3
    for path in blobs:  # encrypted: none of the pictures' bytes in the clear
        stored = path.read_bytes()
        assert not any(item.data[:64] in stored for item in m)


def test_the_write_lock_is_taken_once_the_evidence_is_on_disk(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """The blobs are written (and synced) before the lock, so writers waiting on the lock do not
    wait for the disk; the rows come after it."""
    m = matched_media(store, settings, tmp_path, 2)
    seen: list[tuple[int, dict[str, int]]] = []

    @contextmanager
    def lock() -> Iterator[None]:
        seen.append((len(blob_files(settings)), counts(store)))
        yield

    TakedownService(store, settings).record_many(m, lock=lock)
    assert seen == [(2, {"evidence": 0, "takedowns": 0, "evidence.preserve": 0, "takedown.create": 0})]
    assert counts(store)["takedowns"] == 2


def test_a_group_that_does_not_commit_leaves_nothing(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    m = matched_media(store, settings, tmp_path, 2)

    class Broken:
        def __enter__(self) -> None:
            raise RuntimeError("the lock could not be taken")

        def __exit__(self, *exc: object) -> None:
            pass

    with pytest.raises(RuntimeError, match="could not be taken"):
        TakedownService(store, settings).record_many(m, lock=Broken)
    assert counts(store) == {"evidence": 0, "takedowns": 0, "evidence.preserve": 0, "takedown.create": 0}
    assert blob_files(settings) == []  # the evidence written before the lock went with the group
    recorded = TakedownService(store, settings).record_many(m)  # and the next try records them
    assert [created for _id, created in recorded] == [True, True]


@pytest.mark.parametrize("group", [1, 2], ids=["alone", "in-a-group"])
def test_a_url_another_crawler_recorded_meanwhile_is_not_recorded_twice(
    store: Store, settings: Settings, tmp_path: Path, group: int
) -> None:
    """Another crawler records the same URL between this one's check and its write lock: the
    takedown and the evidence are theirs, this crawler's copy of the evidence is deleted."""
    m = matched_media(store, settings, tmp_path, group)
    other = TakedownService(store, settings, actor="other-crawler")
    theirs: list[int] = []

    @contextmanager
    def lock() -> Iterator[None]:
        if not theirs:
            last = m[-1]
            theirs.append(
                other.record(
                    url=last.url,
                    page_url=last.page_url,
                    crawl_url_id=None,
                    signals=last.signals,
                    match=last.match,
                    data=last.data,
                )[0]
            )
        yield

    recorded = TakedownService(store, settings, actor="crawler").record_many(m, lock=lock)
    assert recorded[-1] == (theirs[0], False)
    assert all(created for _id, created in recorded[:-1])
    assert counts(store) == {
        "evidence": group,
        "takedowns": group,
        "evidence.preserve": group,
        "takedown.create": group,
    }
    assert len(blob_files(settings)) == group
