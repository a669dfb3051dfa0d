"""`ohsc demo` (the README's first command) shows what it says it shows."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from ohsc.demo import run_demo


def test_the_demo_outcomes_match_their_labels(tmp_path: Path) -> None:
    quiet = Console(file=io.StringIO(), width=200)
    result = run_demo(tmp_path / "demo", out=quiet, err=quiet, workers=2)
    records = {r["path"]: r for r in result["records"]}
    for path, expected in result["expected"].items():
        rec = records[path]
        if expected.startswith("match"):
            assert rec.get("matched"), path
        elif expected.startswith("suppressed"):
            assert rec.get("suppressed") and not rec.get("matched"), path
        elif expected.startswith("error"):
            assert rec.get("error"), path
        else:
            assert not rec.get("matched"), path
    decoys = [r for p, r in records.items() if p.startswith("uploads/decoy-")]
    assert len(decoys) == 24 and not any(r.get("matched") for r in decoys)
    assert "path traversal" in records["archive.zip!../escape.jpg"]["error"]
    video = next(m for m in records["uploads/video-clip-inside-longer.mp4"]["matches"] if m.get("video"))
    assert video["video"]["segments"]
    for name in ("uploads/08-cropped-10pct.jpg", "uploads/09-bordered-white.jpg"):  # plain PDQ misses them
        assert {m["method"] for m in records[name]["matches"]} <= {"pdq-trimmed", "region", "features"}
