"""A small, benign dataset for the console's figures, built through the library: two banks with
invented MD5 values and generated pictures, matches, decisions by two reviewers, reveals, one
filed report and three takedowns. :class:`Inputs` keeps what was done, so tests compute the
expected figures from it with plain Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from svc_helpers import Env, image
from tests.reporting_support import body, image_bytes, make_settings, service

from ohsc.matching.model import Match
from ohsc.removal.takedowns import TakedownService
from ohsc.reports.from_review import review_ref
from ohsc.review.model import Choice, Reviewer
from ohsc.review.models import MediaRevealRow, ReviewDecisionRow
from ohsc.signals.files import FileSignals

#: bank -> (category, invented md5 values)
BANKS = {
    "alpha": ("placeholder-a", [f"{0xA0 + i:032x}" for i in range(4)]),
    "beta": ("placeholder-b", [f"{0xB0 + i:032x}" for i in range(2)]),
}
PICTURES = (31, 32)  # generated pictures added to "alpha" and matched: items with media


@dataclass
class Inputs:
    #: (bank, category, content record id, review item id) of every match (entry matched)
    matches: list[tuple[str, str, int, int]] = field(default_factory=list)
    #: (reviewer, item, choice)
    decisions: list[tuple[str, int, str]] = field(default_factory=list)
    #: (reviewer, item, mode)
    reveals: list[tuple[str, int, str]] = field(default_factory=list)
    #: reviewer -> (revealed at, end reported at or None) of each reveal, read back after it
    shown: dict[str, list[tuple[datetime, datetime | None]]] = field(default_factory=dict)
    #: item -> (created_at, decided_at) read back after deciding
    times: dict[int, tuple[datetime, datetime | None]] = field(default_factory=dict)
    #: the report: (matched_at, filed_at, decision time)
    report: tuple[datetime, datetime, datetime] | None = None
    takedown_statuses: list[str] = field(default_factory=list)
    daily_limit: int = 0


def _match(env: Env, inputs: Inputs, bank: str, category: str, **form: Any) -> int:
    r = env.client.post("/v1/match", headers=env.key("match"), **form)
    assert r.status_code == 200, r.text
    answer = r.json()
    item = int(answer["review_item_id"])
    content = env.services.review.get(item).content_item_id
    for m in answer["matches"]:  # a picture matches its MD5, SHA-1, SHA-256 and PDQ entries
        assert (m["bank"], m["category"]) == (bank, category)
        inputs.matches.append((bank, category, content, item))
    return item


def _decide(
    env: Env, inputs: Inputs, who: Reviewer, item: int, choice: Choice, reveal: tuple[str, ...] = ()
) -> None:
    review = env.services.review
    review.claim(item, who)
    ids: list[int] = []
    for mode in reveal:
        grant = review.reveal(item, who, mode=mode)
        inputs.reveals.append((who.name, item, mode))
        if mode == "click":  # the browser reports its end; a held one's end is the decision
            assert review.hidden(item, who, grant)
        with env.store.session() as s:
            ids.append(s.query(func.max(MediaRevealRow.id)).scalar())
    review.decide(item, who, choice)
    with env.store.session() as s:  # read back after the decision, which ends what was left open
        for row_id in ids:
            row = s.get(MediaRevealRow, row_id)
            assert row is not None
            inputs.shown.setdefault(who.name, []).append((row.at, row.hidden_at))
    inputs.decisions.append((who.name, item, choice.value))


def build(env: Env, tmp_path: Path) -> Inputs:
    inputs = Inputs(daily_limit=env.settings.review_daily_reveal_limit)
    for bank, (category, values) in BANKS.items():
        env.bank(bank)
        env.client.post(
            f"/v1/banks/{bank}/entries",
            json={"entries": [{"signal_type": "md5", "value": v, "category": category} for v in values]},
            headers=env.key(),
        )
    for seed in PICTURES:
        env.add_image("alpha", seed, category="placeholder-a")
    env.refresh()
    items: dict[str, list[int]] = {}
    for bank, (category, values) in BANKS.items():
        items[bank] = [_match(env, inputs, bank, category, json={"signals": {"md5": v}}) for v in values]

    pics = [
        _match(env, inputs, "alpha", "placeholder-a", files={"file": ("u.jpg", image(s))}) for s in PICTURES
    ]
    for name in ("alice", "bob"):
        env.user(name)
    alice, bob = (Reviewer.of_user(env.services.accounts.get_user(n)) for n in ("alice", "bob"))
    _decide(env, inputs, alice, pics[0], Choice.CONFIRM, reveal=("click", "hold"))
    _decide(env, inputs, alice, items["alpha"][0], Choice.CONFIRM)
    _decide(env, inputs, alice, items["alpha"][1], Choice.CONFIRM)
    _decide(env, inputs, bob, pics[1], Choice.NOT_ABUSE, reveal=("click",))
    _decide(env, inputs, bob, items["beta"][0], Choice.NOT_ABUSE)
    _decide(env, inputs, bob, items["alpha"][2], Choice.ESCALATE)
    for _, _, _, item in inputs.matches:
        got = env.services.review.get(item)
        inputs.times[item] = (got.created_at, got.decided_at)
    _report(env, inputs, tmp_path, pics[0])
    _takedowns(env, inputs)
    return inputs


def _report(env: Env, inputs: Inputs, tmp_path: Path, item: int) -> None:
    with env.store.session() as s:
        decision = s.query(ReviewDecisionRow).filter_by(item_id=item, decision="confirm").one()
        decision_id, decided = decision.id, decision.at
    svc = service(env.store, make_settings(tmp_path / "reports"))
    matched = inputs.times[item][0]
    draft = svc.create_draft(body(), matched_at=matched)
    svc.add_file(
        draft.report.id,
        data=image_bytes(5),
        file_name="upload-1.jpg",
        media_type="image/jpeg",
        viewed_by_human=True,
        exif_viewed_by_human=False,
        review_ref=review_ref(decision_id),
        matched_at=matched,
    )
    svc.submit(draft.report.id)
    filed = svc.get(draft.report.id).filed_at
    assert filed is not None
    inputs.report = (matched, filed, decided)


def _takedowns(env: Env, inputs: Inputs) -> None:
    takedowns = TakedownService(env.store, env.settings, actor="system")
    ids: list[int] = []
    for i in range(3):
        match = Match(1, "alpha", 1, None, "md5", f"{0xA0:032x}", 0, 0, "placeholder-a", (), "test", False)
        tid, _ = takedowns.record(
            url=f"http://127.0.0.1:9/media/{i}.jpg",
            page_url="http://127.0.0.1:9/page",
            crawl_url_id=None,
            signals=FileSignals(md5=f"{0xA0:032x}"),
            match=match,
            data=image_bytes(40 + i),
        )
        ids.append(tid)
    takedowns.dismiss(ids[0], "placeholder reason: not a match")
    inputs.takedown_statuses = [t.status for t in takedowns.list_takedowns()]
