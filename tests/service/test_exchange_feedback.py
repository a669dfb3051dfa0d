"""Reviewer decisions on matches that came from an exchange go back to it: StopNCII hears
``Blocked`` for a confirmed match and ``NotBlocked`` for a disputed one; NCMEC an affirmative or
a negative vote on the fingerprint that matched; once, after the undo window; decisions on
other banks' matches are not sent."""

from __future__ import annotations

import time

from sqlalchemy import select
from svc_helpers import Env
from tests.exchange_fakes import FakeNcmec, FakeStopNcii, NcmecEntry, serve

from ohsc.accounts.roles import Role
from ohsc.exchanges.service import ExchangeService
from ohsc.review.model import Choice, Reviewer
from ohsc.store.models import AuditEvent

MD5 = [f"{0xFEED00 + i:032x}" for i in range(3)]


def test_stopncii_hears_reviewer_verdicts(env: Env) -> None:
    env.bank("ncii")
    env.bank("own")
    env.client.post(
        "/v1/banks/own/entries",
        json={"entries": [{"signal_type": "md5", "value": MD5[2]}]},
        headers=env.key(),
    )
    settings = env.settings.model_copy(update={"egress_allow": "127.0.0.1/32", "review_undo_seconds": 0})
    exchanges = ExchangeService(env.store, settings)
    fake = FakeStopNcii("sub", "fetch", "feedback")
    for n, value in enumerate(MD5[:2]):
        fake.add(1000 + n, "VideoMD5", value)
    with serve(fake) as url:
        secrets = {"subscription_key": "sub", "fetch_key": "fetch", "feedback_key": "feedback"}
        exchanges.add("ncii", "stopncii", "ncii", {"url": url + "/v1"}, secrets)
        assert exchanges.sync("ncii").changes.added == 2
        env.refresh()
        items = [
            env.client.post("/v1/match", json={"signals": {"md5": v}}, headers=env.key("match")).json()[
                "review_item_id"
            ]
            for v in MD5
        ]
        env.user("rita", Role.REVIEWER)
        rita = Reviewer.of_user(env.services.accounts.get_user("rita"))
        for item, choice in zip(items, (Choice.CONFIRM, Choice.NOT_ABUSE, Choice.CONFIRM), strict=True):
            env.services.review.decide(item, rita, choice)

        assert exchanges.push_feedback("ncii") == 2
        assert sorted((f["hashValue"], f["feedbackValue"]) for f in fake.feedback) == [
            (MD5[0], "Blocked"),
            (MD5[1], "NotBlocked"),
        ]
        assert exchanges.push_feedback("ncii") == 0  # sent once
        assert len(fake.feedback) == 2
    with env.store.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.feedback")).one()
        assert event.details["confirmed"] == 1 and event.details["disputed"] == 1


def test_ncmec_hears_reviewer_verdicts(env: Env) -> None:
    env.bank("ncmec")
    settings = env.settings.model_copy(update={"egress_allow": "127.0.0.1/32", "review_undo_seconds": 0})
    exchanges = ExchangeService(env.store, settings)
    fake = FakeNcmec("user", "pass")
    past = int(time.time()) - 1000
    fake.entries = [
        NcmecEntry("e1", past, member=42, fingerprints={"md5": MD5[0], "sha1": "b" * 40}),
        NcmecEntry("e2", past + 1, member=43, fingerprints={"md5": MD5[1]}),
    ]
    with serve(fake) as url:
        exchanges.add("ncmec", "ncmec", "ncmec", {"url": url, "username": "user"}, {"password": "pass"})
        assert exchanges.sync("ncmec").changes.added == 3
        env.refresh()
        items = [
            env.client.post("/v1/match", json={"signals": {"md5": v}}, headers=env.key("match")).json()[
                "review_item_id"
            ]
            for v in MD5[:2]
        ]
        env.user("rita", Role.REVIEWER)
        rita = Reviewer.of_user(env.services.accounts.get_user("rita"))
        for item, choice in zip(items, (Choice.CONFIRM, Choice.NOT_ABUSE), strict=True):
            env.services.review.decide(item, rita, choice)

        assert exchanges.push_feedback("ncmec") == 2
        assert sorted((k, v.vote) for k, v in fake.votes.items()) == [
            ((42, "e1", "MD5"), "affirmative"),  # the MD5 matched: the vote is on it, not on the SHA-1
            ((43, "e2", "MD5"), "negative"),
        ]
        assert exchanges.push_feedback("ncmec") == 0  # sent once
    with env.store.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.feedback")).one()
        assert event.details["sent"] == 2 and event.details["disputed"] == 1
