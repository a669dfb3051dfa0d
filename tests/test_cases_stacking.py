"""Stacking through multi-index hashing gives exactly the stacks of the flat search it replaced
(each new item joins the stack of its nearest earlier item within the threshold, ties to the
smallest item id): on random codes with near-duplicates, exact PDQ twins, wide and narrow
thresholds, a crowd of alike codes, and across a resumed ingest that reads the case back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from ohsc.cases import stack_index, stacking
from ohsc.cases.ingest import Applier, FileTimes
from ohsc.cases.models import CaseItemRow, CaseRow
from ohsc.cases.stack_index import PROBES_MAX, StackIndex, probes_per_query
from ohsc.cases.stacking import FlatStacks, Stacker
from ohsc.index.codes import hamming_to_all
from ohsc.settings import Settings
from ohsc.store.db import Store
from tests.case_sources import case_with_source

Item = tuple[int, str | None, int | None]


def _flip(code: np.ndarray, rng: np.random.Generator, bits: int) -> np.ndarray:
    out = code.copy()
    for b in rng.choice(256, size=bits, replace=False):
        out[b // 8] ^= 1 << (b % 8)
    return out


def _items(n: int, seed: int, *, crowd: bool = False) -> list[Item]:
    """Originals with near-duplicates 0-40 bits away (some past the threshold), exact PDQ twins,
    items without a PDQ or below the quality floor; shuffled, ids not in placing order."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=32, dtype=np.uint8)
    codes: list[np.ndarray] = []
    while len(codes) < n:
        original = _flip(base, rng, int(rng.integers(0, 14))) if crowd else rng.integers(0, 256, 32, np.uint8)
        codes.append(original)
        for _ in range(int(rng.integers(0, 4))):
            codes.append(_flip(original, rng, int(rng.integers(0, 41))))
        if rng.random() < 0.1:
            codes.append(original.copy())  # the same PDQ, another file: a tie at distance 0
    codes = [codes[i] for i in rng.permutation(len(codes))[:n]]
    ids = rng.permutation(np.arange(1, 4 * n))[:n].tolist()
    out: list[Item] = []
    for item_id, code in zip(ids, codes, strict=True):
        roll = rng.random()
        pdq = None if roll < 0.02 else code.tobytes().hex()
        out.append((item_id, pdq, 10 if roll > 0.97 else 100))
    return out


def _oracle(items: list[Item], radius: int, quality_min: int = 50) -> dict[int, int]:
    """The rule, by brute force: each item's nearest earlier usable item (distance, then id)."""
    out: dict[int, int] = {}
    codes: list[np.ndarray] = []
    ids: list[int] = []
    stacks: list[int] = []
    for item_id, pdq, quality in items:
        out[item_id] = item_id
        if pdq is None or quality is None or quality < quality_min:
            continue
        code = np.frombuffer(bytes.fromhex(pdq), np.uint8)
        if codes:
            dist = hamming_to_all(np.stack(codes), code)
            near = np.nonzero(dist <= radius)[0]
            if near.size:
                best = min(near.tolist(), key=lambda p: (int(dist[p]), ids[p], stacks[p]))
                out[item_id] = stacks[best]
        codes.append(code)
        ids.append(item_id)
        stacks.append(out[item_id])
    return out


def _stack(stacker: Stacker, items: list[Item], batch: int = 256) -> dict[int, int]:
    out: dict[int, int] = {}
    for start in range(0, len(items), batch):
        out.update(stacker.place_many(items[start : start + batch]))
    return out


@pytest.fixture(autouse=True)
def _small_delta(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack index sorts its newest codes into its buckets every 100 codes (8,192 in use),
    so these cases search both."""
    monkeypatch.setattr(stack_index, "DELTA_MIN", 100)


@pytest.mark.parametrize("radius", [31, 0, 9, 40, 90])
def test_multi_index_hashing_gives_the_flat_searchs_stacks(radius: int) -> None:
    items = _items(2500, seed=radius)
    want = _oracle(items, radius)
    assert len(set(want.values())) < len(want)  # near-duplicates did stack
    flat = Stacker(radius, 50, mih_from=10**9)
    assert _stack(flat, items) == want
    assert isinstance(flat.index, FlatStacks)
    index = StackIndex(radius)  # whatever the threshold (the stacker keeps wide ones flat)
    usable = [(i, p) for i, p, q in items if p is not None and q is not None and q >= 50]
    ids = np.array([i for i, _p in usable], np.int64)
    codes = np.stack([np.frombuffer(bytes.fromhex(p), np.uint8) for _i, p in usable])
    placed = np.concatenate(
        [index.place(codes[s : s + 256], ids[s : s + 256]) for s in range(0, len(ids), 256)]
    )
    assert dict(zip(ids.tolist(), placed.tolist(), strict=True)) == {i: want[i] for i in ids.tolist()}
    moved = Stacker(radius, 50, mih_from=700)  # flat first, then its items move into the index
    assert _stack(moved, items, batch=97) == want
    assert isinstance(moved.index, StackIndex if probes_per_query(radius) <= PROBES_MAX else FlatStacks)
    assert moved.stacks.tolist() == flat.stacks.tolist()


def test_a_crowd_of_alike_codes_is_searched_by_comparing_each_once() -> None:
    """Every code near one: each is found through most of its chunks, the buckets looked up
    hold more codes than the base, and the search compares every code instead; the same stacks.
    Spread codes never take that way."""
    items = _items(1500, seed=7, crowd=True)
    stacker = Stacker(31, 50, mih_from=0)
    assert _stack(stacker, items) == _oracle(items, 31)
    assert isinstance(stacker.index, StackIndex) and stacker.index.scans > 0
    spread = Stacker(31, 50, mih_from=0)
    _stack(spread, _items(1500, seed=7))
    assert isinstance(spread.index, StackIndex) and spread.index.scans == 0 and spread.index.n_base > 1000


def test_the_index_checks_what_it_is_given() -> None:
    with pytest.raises(ValueError, match="radius"):
        StackIndex(-1)
    index = StackIndex(31)
    assert index.place(np.zeros((0, 32), np.uint8), np.zeros(0, np.int64)).tolist() == []
    index.extend(np.zeros((0, 32), np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert len(index) == 0 and index.nbytes > 0


def _record(n: int, item: Item) -> dict[str, Any]:
    digest = f"{n:032x}"
    return {
        "path": f"d/p{n:05d}.jpg", "size": 1000 + n, "md5": digest, "sha1": digest + "00000000",
        "kind": "image", "format": "jpeg", "pdq": item[1], "pdq_quality": item[2], "extra": {},
    }  # fmt: skip


def _case(store: Store, settings: Settings, name: str) -> tuple[CaseRow, int]:
    return case_with_source(store, settings, name)


def _stacks_by_md5(store: Store, case: CaseRow) -> dict[str, str]:
    """Each item's stack, as the MD5 of the stack's first item (ids differ between cases)."""
    with store.session() as s:
        rows = s.execute(
            select(CaseItemRow.id, CaseItemRow.md5, CaseItemRow.stack_id).where(
                CaseItemRow.case_id == case.id
            )
        ).all()
    md5s = {item_id: md5 for item_id, md5, _st in rows}
    return {md5: md5s[st if st is not None else item_id] for item_id, md5, st in rows}


def test_an_ingest_read_back_from_the_case_goes_on_with_the_same_stacks(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resumed ingest reads the case's stacked items back (Stacker.load, past the move into
    the index) and places the rest as an uninterrupted ingest does."""
    monkeypatch.setattr(stacking, "MIH_FROM", 300)
    records = [_record(n, item) for n, item in enumerate(_items(900, seed=11))]

    def times(_r: dict[str, Any]) -> FileTimes:
        return FileTimes()

    whole, whole_source = _case(store, settings, "whole")
    applier = Applier(store, settings, whole, whole_source, Path("/seized"))
    for start in range(0, 900, 256):
        applier.apply(records[start : start + 256], times)
    resumed, resumed_source = _case(store, settings, "resumed")
    Applier(store, settings, resumed, resumed_source, Path("/seized")).apply(records[:512], times)
    again = Applier(store, settings, resumed, resumed_source, Path("/seized"))  # reads the case back
    assert isinstance(again.stacker.index, StackIndex) and len(again.stacker.index) > 300
    for start in range(512, 900, 256):
        again.apply(records[start : start + 256], times)
    got, want = _stacks_by_md5(store, resumed), _stacks_by_md5(store, whole)
    assert got == want and len(set(want.values())) < len(want)
