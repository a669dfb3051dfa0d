"""Anonymous tips: form tokens, proof of work, honeypot, rate limits by salted hash, the inbox
and its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ohsc.actor import ROLE_INVESTIGATOR, LocalActor
from ohsc.demo.synth import jpeg_bytes, picture
from ohsc.errors import ChallengeError, InvalidInputError, PermissionDeniedError, RateLimitedError, StateError
from ohsc.media.blobs import open_blob_store
from ohsc.prevention.counters import CounterBuffer
from ohsc.prevention.models import TraceRateBucketRow, TraceRateSaltRow
from ohsc.prevention.tips import TipService, client_network, csv_safe, pow_ok, solve_pow
from ohsc.prevention.trace import TraceObject, TraceObjects
from ohsc.settings import Settings, load_settings
from ohsc.store.all_models import metadata
from ohsc.store.db import Store

ALICE = LocalActor.of("user:alice", [ROLE_INVESTIGATOR])
BOB = LocalActor.of("user:bob", [ROLE_INVESTIGATOR])


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def tip_settings(tmp_path: object, settings: Settings) -> Settings:
    return load_settings(
        home=settings.home,
        trace_pow_bits=8,
        trace_tips_per_hour=3,
        trace_tips_per_day=5,
        trace_tip_min_seconds=3,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def published(store: Store, tip_settings: Settings) -> tuple[TraceObjects, TraceObject]:
    objects = TraceObjects(store, open_blob_store(tip_settings), tip_settings)
    obj = objects.create(
        ALICE, jpeg_bytes(picture(3)), category="clothing", question="Where is this shirt sold?"
    )
    objects.submit(ALICE, obj.id)
    return objects, objects.approve(BOB, obj.id)


@pytest.fixture
def tips(store: Store, tip_settings: Settings, clock: Clock) -> TipService:
    return TipService(store, tip_settings, counters=CounterBuffer(store, flush_seconds=3600), clock=clock)


def send(
    tips: TipService, clock: Clock, public_id: str, text: str, *, ip: str = "203.0.113.7", honeypot: str = ""
) -> bool:
    challenge = tips.challenge(public_id)
    clock.advance(5)
    nonce = solve_pow(challenge.token, challenge.pow_bits)
    return tips.submit(
        public_id,
        text,
        token=challenge.token,
        pow_nonce=nonce,
        honeypot=honeypot,
        client_address=ip,
        locale="de",
    ).stored


def test_a_tip_is_received_and_triaged(
    tips: TipService, clock: Clock, published: tuple[TraceObjects, TraceObject]
) -> None:
    _, obj = published
    assert send(tips, clock, obj.public_id, "  I saw this shirt in a shop in Exampletown.\r\nRed label.  ")
    [tip] = tips.list_tips(ALICE)
    assert tip.body == "I saw this shirt in a shop in Exampletown.\nRed label."
    assert (tip.status, tip.locale, tip.object_public_id) == ("new", "de", obj.public_id)
    triaged = tips.triage(
        BOB, tip.id, status="useful", add_tags=["shop", "city: exampletown"], note="call shop"
    )
    assert (triaged.status, triaged.tags, triaged.triaged_by) == (
        "useful",
        ("shop", "city: exampletown"),
        "user:bob",
    )
    assert tips.triage(BOB, tip.id, remove_tags=["shop"]).tags == ("city: exampletown",)
    assert [t.id for t in tips.list_tips(ALICE, tag="city: exampletown")] == [tip.id]
    assert tips.list_tips(ALICE, status="spam") == []
    with pytest.raises(InvalidInputError):
        tips.triage(BOB, tip.id, add_tags=["<script>"])
    with pytest.raises(PermissionDeniedError):
        tips.list_tips(LocalActor.of("user:visitor", []))
    objects, _ = published
    assert objects.get(ALICE, obj.id).tips == 1


@pytest.mark.parametrize("wait", [0, 2])
def test_forms_sent_too_quickly_are_refused(
    tips: TipService, clock: Clock, published: tuple[TraceObjects, TraceObject], wait: float
) -> None:
    _, obj = published
    challenge = tips.challenge(obj.public_id)
    clock.advance(wait)
    with pytest.raises(ChallengeError, match="too quickly"):
        tips.submit(obj.public_id, "x", token=challenge.token, pow_nonce=solve_pow(challenge.token, 8))


def test_bad_expired_reused_and_unworked_forms_are_refused(
    tips: TipService, clock: Clock, published: tuple[TraceObjects, TraceObject]
) -> None:
    _, obj = published
    challenge = tips.challenge(obj.public_id)
    clock.advance(10)
    nonce = solve_pow(challenge.token, 8)
    forged = challenge.token[:-1] + ("0" if challenge.token[-1] != "0" else "1")
    with pytest.raises(ChallengeError, match="not valid"):
        tips.submit(obj.public_id, "x", token=forged, pow_nonce=nonce)
    with pytest.raises(ChallengeError, match="not valid"):
        tips.submit("0" * 16, "x", token=challenge.token, pow_nonce=nonce)
    bad_nonce = next(str(n) for n in range(10_000) if not pow_ok(challenge.token, str(n), 8))
    with pytest.raises(ChallengeError, match="check did not complete"):
        tips.submit(obj.public_id, "x", token=challenge.token, pow_nonce=bad_nonce)
    tips.submit(obj.public_id, "first", token=challenge.token, pow_nonce=nonce)
    with pytest.raises(ChallengeError, match="already sent"):
        tips.submit(obj.public_id, "again", token=challenge.token, pow_nonce=nonce)
    old = tips.challenge(obj.public_id)
    clock.advance(3 * 3600)
    with pytest.raises(ChallengeError, match="expired"):
        tips.submit(obj.public_id, "late", token=old.token, pow_nonce=solve_pow(old.token, 8))
    with pytest.raises(ChallengeError):
        tips.submit(obj.public_id, "x", token="", pow_nonce="")


def test_text_limits(tips: TipService, clock: Clock, published: tuple[TraceObjects, TraceObject]) -> None:
    _, obj = published
    with pytest.raises(InvalidInputError, match="empty"):
        send(tips, clock, obj.public_id, " \n\t ")
    with pytest.raises(InvalidInputError, match="longer than 2000"):
        send(tips, clock, obj.public_id, "a" * 2001)
    assert send(tips, clock, obj.public_id, "bell\x07 and nul\x00 removed")
    assert tips.list_tips(ALICE)[0].body == "bell and nul removed"


def test_honeypot_is_discarded_silently(
    tips: TipService, clock: Clock, published: tuple[TraceObjects, TraceObject]
) -> None:
    _, obj = published
    assert send(tips, clock, obj.public_id, "buy cheap watches", honeypot="http://spam.example") is False
    assert tips.list_tips(ALICE) == []
    assert tips.counters is not None
    assert {k[1]: v for k, v in tips.counters.pending().items()} == {"tips_discarded": 1}


def test_rate_limit_per_address_without_storing_it(
    tips: TipService, clock: Clock, published: tuple[TraceObjects, TraceObject], store: Store
) -> None:
    _, obj = published
    for i in range(3):
        send(tips, clock, obj.public_id, f"tip {i}", ip="198.51.100.23")
    with pytest.raises(RateLimitedError):
        send(tips, clock, obj.public_id, "tip 4", ip="198.51.100.23")
    send(tips, clock, obj.public_id, "from elsewhere", ip="198.51.100.24")  # another address is fine
    # IPv6 counts per /64: rotating the interface id does not help
    for i in range(3):
        send(tips, clock, obj.public_id, f"v6 {i}", ip=f"2001:db8:1:2::{i + 1}")
    with pytest.raises(RateLimitedError):
        send(tips, clock, obj.public_id, "v6 again", ip="2001:db8:1:2:ffff::9")
    clock.advance(3600)
    send(tips, clock, obj.public_id, "next hour", ip="198.51.100.23")
    send(tips, clock, obj.public_id, "next hour", ip="198.51.100.23")
    with pytest.raises(RateLimitedError):  # the day's limit (5)
        send(tips, clock, obj.public_id, "too many today", ip="198.51.100.23")
    assert tips.counters is not None
    assert sum(v for k, v in tips.counters.pending().items() if k[1] == "tips_rate_limited") == 3

    with store.session() as s:
        dump = "\n".join(repr(tuple(r)) for t in metadata.sorted_tables for r in s.execute(select(t)))
        keys = set(s.scalars(select(TraceRateBucketRow.key)))
    for address in ("198.51.100.23", "198.51.100.24", "2001:db8", "203.0.113"):
        assert address not in dump
    assert all(len(k) == 64 for k in keys)

    # the next day: a new salt, yesterday's is deleted, so old hashes can no longer be linked
    clock.advance(24 * 3600)
    send(tips, clock, obj.public_id, "new day", ip="198.51.100.23")
    with store.session() as s:
        salts = list(s.scalars(select(TraceRateSaltRow.day)))
        new_keys = set(s.scalars(select(TraceRateBucketRow.key)))
    assert salts == [clock.now.date()]
    assert not (new_keys - keys) & keys


def test_only_published_objects_take_tips(
    tips: TipService, clock: Clock, published: tuple[TraceObjects, TraceObject]
) -> None:
    objects, obj = published
    objects.identify(ALICE, obj.id)
    with pytest.raises(StateError, match="identified"):
        send(tips, clock, obj.public_id, "too late")
    objects.retire(ALICE, obj.id)
    with pytest.raises(StateError):
        send(tips, clock, obj.public_id, "gone")
    with pytest.raises(InvalidInputError):
        tips.challenge("not-an-id")


def test_script_injection_is_stored_as_text_and_csv_is_formula_safe(
    tips: TipService, clock: Clock, published: tuple[TraceObjects, TraceObject]
) -> None:
    _, obj = published
    hostile = [
        '<script>alert("x")</script><img src=x onerror=alert(1)>',
        '=HYPERLINK("http://evil.example","click")',
        "+1+2",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "  =cmd|' /C calc'!A0",
    ]
    for text in hostile:
        send(tips, clock, obj.public_id, text, ip=f"192.0.2.{len(text)}")
    bodies = {t.body for t in tips.list_tips(ALICE)}
    assert hostile[0] in bodies  # stored verbatim; pages escape it when they show it
    tips.triage(ALICE, tips.list_tips(ALICE)[0].id, note="=1+1", add_tags=["followup"])
    out = io.StringIO()
    assert tips.export_csv(ALICE, out) == len(hostile)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][-1] == "tip"
    for row in rows[1:]:
        for cell in row:
            assert not cell.lstrip().startswith(("=", "+", "-", "@")), cell
    exported = {row[-1] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil.example","click")' in exported
    assert hostile[0] in exported


def test_helpers() -> None:
    assert csv_safe("=1") == "'=1"
    assert csv_safe(" -1") == "' -1"
    assert csv_safe("plain") == "plain"
    assert csv_safe(None) == ""
    assert client_network("2001:db8::1") == "2001:db8::/64"
    assert client_network("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_network("not an ip") == "unknown"
    assert client_network(None) == "unknown"
    token = "abc"
    assert pow_ok(token, solve_pow(token, 12), 12)
    assert pow_ok(token, "", 0)
    assert not pow_ok(token, "12x", 4)
