"""Issue 14's "Done when", end to end through the command line on a fresh data directory:
``ohsc case create``; ``ingest`` of a folder, a zip and a disk image of benign pictures (exact
copies, resized and recompressed near-duplicates, a picture a bank knows); ``stats`` with items,
unique, stacks, known and unknown; two analysts agree (agreement 2; the browser does the same in
tests/service/test_browser_cases.py); ``export --format vics`` re-imports into a bank that then
matches the files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ohsc.cases.service import CaseService
from ohsc.cli import main
from ohsc.matching import Matcher
from ohsc.settings import load_settings
from ohsc.signals.files import HashOptions, hash_bytes
from ohsc.store.db import Store
from tests.fatimage import fat_image
from tests.test_cases import jpeg, resized


def _ohsc(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_done_when_from_a_fresh_home(tmp_path: Path) -> None:
    pytest.importorskip("pytsk3", reason="disk images need the forensics extra (pytsk3)")
    a, b, c, d, k = (jpeg(seed) for seed in (70, 71, 72, 73, 74))
    folder = tmp_path / "phone"
    for name, data in {
        "DCIM/a.jpg": a,
        "DCIM/a-copy.jpg": a,  # exact copy: one item, two locations
        "DCIM/a-small.jpg": resized(a),  # resized near-duplicate: stacked with a
        "b.jpg": b,
        "saved/k.jpg": k,  # known to a bank
    }.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    cloud = tmp_path / "cloud.zip"
    with zipfile.ZipFile(cloud, "w") as zf:
        zf.writestr("z/a.jpg", a)  # a copy of a folder file
        zf.writestr("z/c.jpg", c)
        zf.writestr("z/c-q40.jpg", resized(c, factor=1.0, q=40))  # recompressed near-duplicate
    card = fat_image(tmp_path / "card.img", {"DCIM/D.JPG": d, "COPY.JPG": d})
    (tmp_path / "known").mkdir()
    (tmp_path / "known" / "k.jpg").write_bytes(k)

    _ohsc("bank", "create", "seen-before")
    _ohsc("bank", "add", "seen-before", str(tmp_path / "known" / "k.jpg"), "--category", "vics:1")
    _ohsc("case", "create", "op-done", "--agreement", "2")
    for source in (folder, cloud, card):
        _ohsc("case", "ingest", "op-done", str(source), "--workers", "0", "--quiet")
    stats = json.loads(_ohsc("case", "stats", "op-done", "--json").stdout)
    assert stats["sources"] == 3 and stats["files"] == 10  # 5 + 3 + 2 locations
    assert stats["unique"] == 7  # a, a-small, b, k, c, c-q40, d
    assert (stats["stacks"], stats["multi_stacks"]) == (5, 2)  # {a, a-small} {c, c-q40} b k d
    assert (stats["known"], stats["unknown"]) == (1, 6)
    text = _ohsc("case", "stats", "op-done").stdout
    for word in ("unique", "stacks", "known", "unknown"):
        assert word in text.lower()

    settings = load_settings()
    store = Store.from_settings(settings)
    try:
        ann = CaseService(store, settings, actor="user:ann")
        bob = CaseService(store, settings, actor="user:bob")
        grid = ann.grid("op-done")["items"]
        assert not grid[0].known and grid[-1].known  # unknown first
        md5 = {hash_bytes(x, HashOptions()).md5: x for x in (a, c)}
        firsts = [i.id for i in grid if i.md5 in md5]
        assert ann.categorise("op-done", firsts, "1", whole_stacks=True)["final"] == 0  # one of two
        assert bob.categorise("op-done", firsts, "1", whole_stacks=True)["final"] == 4  # agreed
        out = tmp_path / "op-done.json"
        _ohsc("case", "export", "op-done", "--format", "vics", "-o", str(out))
        assert len(json.loads(out.read_text())["value"]) == 5  # 4 agreed + the known one
        _ohsc("bank", "create", "from-case")
        _ohsc("bank", "import", "from-case", str(out), "--format", "vics")
        matcher = Matcher.open(store, settings)
        for data in (a, resized(a), c, resized(c, factor=1.0, q=40), k):
            sig = hash_bytes(data, HashOptions())
            outcome = matcher.match(sig.signals(), pdq_quality=sig.pdq_quality)
            assert "from-case" in {m.bank_name for m in outcome.matches}
        for data in (b, d):  # never categorised: not exported
            sig = hash_bytes(data, HashOptions())
            assert "from-case" not in {m.bank_name for m in matcher.match(sig.signals()).matches}
    finally:
        store.dispose()
