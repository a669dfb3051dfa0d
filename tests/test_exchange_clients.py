"""The NCMEC hash sharing (v2) and StopNCII clients against local fakes of their documented APIs:
paging, timestamps, deletions, feedback, credentials; a bad record never stops a fetch."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ohsc.banks.service import BankService
from ohsc.errors import ExchangeError
from ohsc.exchanges.model import Feedback, Verdict
from ohsc.exchanges.service import ExchangeService
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store
from tests.exchange_fakes import FakeNcmec, FakeStopNcii, NcmecEntry, serve

PDQ = ["f" * 63 + "0", "0" * 63 + "f", "a5" * 32]
MD5 = [f"{0xBEEF00 + i:032x}" for i in range(10)]
NOW = 1_800_000_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", egress_allow="127.0.0.1/32")


@pytest.fixture
def svc(sqlite_store: Store, settings: Settings) -> ExchangeService:
    BankService(sqlite_store, settings).create_bank("incoming")
    return ExchangeService(sqlite_store, settings)


def _active(svc: ExchangeService) -> set[tuple[str, str]]:
    return {(e.signal_type, e.value) for e in svc.banks.iter_entries("incoming")}


def test_stopncii_pages_timestamps_withdrawals_and_feedback(svc: ExchangeService) -> None:
    fake = FakeStopNcii("sub-key", "fetch-key", "feedback-key", page_size=2)
    fake.add(NOW, "ImagePDQ", PDQ[0])
    fake.add(NOW + 1, "VideoMD5", MD5[0])
    fake.add(NOW + 2, "VideoTMK", "tmk-placeholder")  # not a hash OHSC matches: noted
    fake.add(NOW + 3, "ImagePDQ", "not-a-pdq")  # malformed: skipped with a note
    fake.add(NOW + 4, "ImagePDQ", PDQ[1])
    with serve(fake) as url:
        secrets = {"subscription_key": "sub-key", "fetch_key": "fetch-key", "feedback_key": "feedback-key"}
        svc.add("ncii", "stopncii", "incoming", {"url": url + "/v1"}, secrets)
        report = svc.sync("ncii")
        assert report.pages == 3 and report.changes.added == 3
        assert any("VideoTMK" in n for n in report.notes) and any("skipped" in n for n in report.notes)
        assert _active(svc) == {("pdq", PDQ[0]), ("md5", MD5[0]), ("pdq", PDQ[1])}
        assert svc.get("ncii").checkpoint == {"start": NOW + 5}

        # a withdrawal and a new hash later: the next sync asks only for what changed since
        fake.add(NOW + 10, "ImagePDQ", PDQ[0], status="Withdrawn")
        fake.add(NOW + 11, "ImagePDQ", PDQ[2])
        report = svc.sync("ncii")
        assert f"startTimestamp={NOW + 5}" in fake.state.requests[-1]
        assert report.records == 2 and report.changes.retracted == 1 and report.changes.added == 1
        assert _active(svc) == {("md5", MD5[0]), ("pdq", PDQ[1]), ("pdq", PDQ[2])}

        client = svc.client("ncii")
        sent = client.send_feedback(
            [
                Feedback(f"ImagePDQ:{PDQ[1]}", "pdq", PDQ[1], Verdict.CONFIRMED),
                Feedback(f"VideoMD5:{MD5[0]}", "md5", MD5[0], Verdict.DISPUTED),
            ]
        )
        client.close()
        assert sent == 2
        assert fake.feedback == [
            {"hashValue": PDQ[1], "feedbackValue": "Blocked", "tags": []},
            {"hashValue": MD5[0], "feedbackValue": "NotBlocked", "tags": []},
        ]


def test_stopncii_wrong_keys_fail_and_leave_the_checkpoint(svc: ExchangeService) -> None:
    fake = FakeStopNcii("sub-key", "fetch-key", "feedback-key")
    fake.add(NOW, "ImagePDQ", PDQ[0])
    with serve(fake) as url:
        svc.add(
            "ncii", "stopncii", "incoming", {"url": url + "/v1"}, {"subscription_key": "x", "fetch_key": "y"}
        )
        with pytest.raises(ExchangeError, match="HTTP 401"):
            svc.sync("ncii")
    assert svc.get("ncii").checkpoint is None and _active(svc) == set()


def _ncmec_entries() -> list[NcmecEntry]:
    past = int(time.time()) - 1000  # NCMEC windows end at the time of the fetch
    return [
        NcmecEntry("image1", past, fingerprints={"md5": MD5[1], "sha1": "b" * 40, "pdna": "placeholder"}),
        NcmecEntry("image2", past + 1, classification="B1", fingerprints={"md5": MD5[2], "pdq": PDQ[0]}),
        NcmecEntry("image3", past + 2, fingerprints={"md5": "zz-not-md5"}),  # skipped with a note
        NcmecEntry("video1", past + 3, kind="video", member=43, fingerprints={"md5": MD5[3]}),
        NcmecEntry("image4", past + 4, fingerprints={"md5": MD5[4]}),
    ]


def test_ncmec_pages_deletions_and_an_interrupted_window(svc: ExchangeService) -> None:
    fake = FakeNcmec("user", "pass", page_size=2)
    fake.entries = _ncmec_entries()
    fake.state.fail_on = 2  # the second page fails once
    with serve(fake) as url:
        svc.add("ncmec", "ncmec", "incoming", {"url": url, "username": "user"}, {"password": "pass"})
        with pytest.raises(ExchangeError, match="HTTP 500"):
            svc.sync("ncmec")
        held = svc.get("ncmec").checkpoint
        assert held is not None and held["next"].startswith("/v2/entries?") and held["from"] == 0
        fake.state.fail_on = 0
        report = svc.sync("ncmec")
        assert len(set(fake.windows)) == 1  # the resumed pass kept its window (entries are not in time order)
        assert any("'image3' skipped" in n for n in report.notes)
        assert any("pdna" in n for n in report.notes)
        assert _active(svc) == {
            ("md5", MD5[1]),
            ("sha1", "b" * 40),
            ("md5", MD5[2]),
            ("pdq", PDQ[0]),
            ("md5", MD5[3]),
            ("md5", MD5[4]),
        }
        entry = next(e for e in svc.banks.iter_entries("incoming") if e.value == MD5[2])
        assert entry.category == "ncmec:B1" and entry.external_id == "image2"
        end = svc.get("ncmec").checkpoint
        assert end is not None and set(end) == {"from"}

        # a later window: a deleted entry withdraws every hash it brought
        fake.entries.append(NcmecEntry("image2", end["from"] + 1, deleted=True))
        while time.time() < end["from"] + 2:  # the window ends at "now"
            time.sleep(0.2)
        report = svc.sync("ncmec")
        assert report.changes.retracted == 2
        assert ("md5", MD5[2]) not in _active(svc) and ("pdq", PDQ[0]) not in _active(svc)


def test_ncmec_feedback_votes_on_the_fingerprint_that_matched(svc: ExchangeService) -> None:
    fake = FakeNcmec("user", "pass", page_size=10)
    fake.entries = _ncmec_entries()
    with serve(fake) as url:
        svc.add("ncmec", "ncmec", "incoming", {"url": url, "username": "user"}, {"password": "pass"})
        svc.sync("ncmec")
        labels = {e.external_id: tuple(e.labels) for e in svc.banks.iter_entries("incoming")}
        client = svc.client("ncmec")
        assert client.supports_feedback
        sent = client.send_feedback(
            [
                Feedback("image1", "md5", MD5[1], Verdict.CONFIRMED, labels["image1"]),
                Feedback("video1", "md5", MD5[3], Verdict.DISPUTED, labels["video1"]),  # one reason: taken
                Feedback("image4", "sha256", "c" * 64, Verdict.CONFIRMED, labels["image4"]),  # no such vote
                Feedback("image4", "md5", MD5[4], Verdict.CONFIRMED, ()),  # member unknown: left out
            ]
        )
        assert sent == 2
        assert sorted((k, v.vote, v.reason) for k, v in fake.votes.items()) == [
            ((42, "image1", "MD5"), "affirmative", None),
            ((43, "video1", "MD5"), "negative", "00000000-0000-4000-8000-00000000000a"),
        ]
        # NCMEC offers two reasons for PDQ: a disputed PDQ match needs the exchange to name one
        disputed_pdq = Feedback("image2", "pdq", PDQ[0], Verdict.DISPUTED, labels["image2"])
        with pytest.raises(ExchangeError, match="dispute_reason"):
            client.send_feedback([disputed_pdq])
        client.close()
        svc.remove("ncmec")
        svc.add(
            "ncmec",
            "ncmec",
            "incoming",
            {"url": url, "username": "user", "dispute_reason": "Placeholder reason C"},
            {"password": "pass"},
        )
        client = svc.client("ncmec")
        assert client.send_feedback([disputed_pdq]) == 1
        client.close()
        vote = fake.votes[(42, "image2", "PDQ")]
        assert (vote.vote, vote.reason) == ("negative", "00000000-0000-4000-8000-00000000000c")
        assert all(r.startswith("PUT /v2/entries/4") for r in fake.state.requests if r.startswith("PUT"))


def test_ncmec_wrong_password(svc: ExchangeService) -> None:
    fake = FakeNcmec("user", "pass")
    with serve(fake) as url:
        svc.add("ncmec", "ncmec", "incoming", {"url": url, "username": "user"}, {"password": "wrong"})
        with pytest.raises(ExchangeError, match="HTTP 401"):
            svc.sync("ncmec")


def test_an_oversized_answer_is_refused(svc: ExchangeService, monkeypatch: pytest.MonkeyPatch) -> None:
    from ohsc.exchanges import http

    monkeypatch.setattr(http, "MAX_ANSWER_BYTES", 200)
    fake = FakeStopNcii("sub-key", "fetch-key", "feedback-key", page_size=50)
    for n in range(10):
        fake.add(NOW + n, "VideoMD5", MD5[n])
    with serve(fake) as url:
        svc.add(
            "ncii",
            "stopncii",
            "incoming",
            {"url": url + "/v1"},
            {"subscription_key": "sub-key", "fetch_key": "fetch-key"},
        )
        with pytest.raises(ExchangeError, match="larger than 200 bytes"):
            svc.sync("ncii")
    assert _active(svc) == set()
