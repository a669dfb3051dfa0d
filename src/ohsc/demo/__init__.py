"""The demo: build a bank from generated images, scan altered copies and decoys, show the result.

Everything is generated (benign shapes and colour fields); nothing is downloaded.
"""

from __future__ import annotations

import io
import shutil
import time
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ohsc.banks.service import BankService
from ohsc.demo import synth
from ohsc.matching.matcher import Matcher
from ohsc.scanning.runner import ProgressSink, Scanner, ScanOptions
from ohsc.settings import load_settings
from ohsc.signals.files import HashOptions
from ohsc.store.db import Store

MARKER = ".ohsc-demo"
KNOWN = 8
DECOYS = 24


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def prepare(target: Path) -> tuple[Path, Path, dict[str, str]]:
    """Create the demo files. Returns (known folder, inbox folder, expected outcome per inbox file)."""
    if target.exists():
        if not (target / MARKER).exists() and any(target.iterdir()):
            raise SystemExit(f"{target} exists and is not an OHSC demo folder; choose another with --dir")
        shutil.rmtree(target)
    target.mkdir(parents=True)
    (target / MARKER).write_text("created by ohsc demo\n")
    known_dir, inbox = target / "known", target / "inbox"
    expected: dict[str, str] = {}
    originals = [synth.picture(1000 + i) for i in range(KNOWN)]
    for i, im in enumerate(originals):
        _write(known_dir / f"known-{i:02d}.jpg", synth.jpeg_bytes(im, 95))
    edits: list[tuple[str, Any, str]] = [
        ("resized-half.jpg", lambda im: synth.jpeg_bytes(synth.resized(im, 0.5), 85), "match"),
        ("recompressed-q30.jpg", lambda im: synth.jpeg_bytes(im, 30), "match"),
        ("greyscale.png", lambda im: synth.png_bytes(synth.greyscale(im)), "match"),
        ("blurred.jpg", lambda im: synth.jpeg_bytes(synth.blurred(im), 90), "match"),
        ("brighter.jpg", lambda im: synth.jpeg_bytes(synth.brighter(im), 90), "match"),
        ("rotated-90.jpg", lambda im: synth.jpeg_bytes(synth.rotated90(im), 90), "match (dihedral)"),
        ("mirrored.jpg", lambda im: synth.jpeg_bytes(synth.mirrored(im), 90), "match (dihedral)"),
        ("renamed-copy.txt", lambda im: synth.jpeg_bytes(im, 95), "match (exact copy, by content)"),
    ]
    for i, (name, edit, outcome) in enumerate(edits):
        rel = f"uploads/{i:02d}-{name}"
        _write(inbox / rel, edit(originals[i % KNOWN]))
        expected[rel] = outcome
    for i in range(DECOYS):
        rel = f"uploads/decoy-{i:02d}.jpg"
        _write(inbox / rel, synth.jpeg_bytes(synth.picture(5000 + i), 85))
        expected[rel] = "no match"
    good = synth.jpeg_bytes(synth.picture(9000), 90)
    _write(inbox / "broken/truncated.jpg", good[: len(good) // 3])
    expected["broken/truncated.jpg"] = "error (truncated image)"
    _write(inbox / "broken/empty.jpg", b"")
    expected["broken/empty.jpg"] = "no match (empty file)"
    _write(inbox / "notes.txt", b"benign text file\n")
    expected["notes.txt"] = "no match (not an image)"
    with zipfile.ZipFile(inbox / "archive.zip", "w") as zf:
        zf.writestr("inside/resized.jpg", synth.jpeg_bytes(synth.resized(originals[3], 0.7), 80))
        zf.writestr("inside/decoy.jpg", synth.jpeg_bytes(synth.picture(7000), 80))
        zf.writestr("../escape.jpg", synth.jpeg_bytes(originals[4], 90))
    expected["archive.zip"] = "no match (the zip itself; its members follow)"
    expected["archive.zip!inside/resized.jpg"] = "match (inside a zip)"
    expected["archive.zip!inside/decoy.jpg"] = "no match"
    expected["archive.zip!../escape.jpg"] = "match, flagged: path traversal name"
    _videos(known_dir, inbox, expected)
    # an allow-listed picture: in the known bank *and* on the allowlist
    allowed = synth.jpeg_bytes(synth.picture(4242), 90)
    _write(known_dir / "allowed.jpg", allowed)
    _write(inbox / "uploads/allowlisted.jpg", allowed)
    expected["uploads/allowlisted.jpg"] = "suppressed by allowlist"
    return known_dir, inbox, expected


def _videos(known_dir: Path, inbox: Path, expected: dict[str, str]) -> None:
    """A known video, a re-encoded and resized copy of it inside a longer video, and a decoy
    (skipped without PyAV: ``pip install 'ohsc[video]'``)."""
    try:
        from ohsc.video.synth import Encoding, concat, resize_edit, slideshow, transform
    except ImportError:
        return
    enc = Encoding(fps=10, gop=20)

    def show(first: int) -> bytes:
        buf = io.BytesIO()
        slideshow(
            [synth.picture(first + i, (320, 240)) for i in range(3)], buf, size=(256, 192), encoding=enc
        )
        return buf.getvalue()

    original, decoy_a, decoy_b = show(3000), show(3100), show(3200)
    _write(known_dir / "known-video.mp4", original)
    copy = io.BytesIO()
    transform(
        original,
        copy,
        edits=[resize_edit((192, 144))],
        encoding=Encoding(fps=10, bit_rate=60_000, options=()),
    )
    longer = io.BytesIO()
    concat([decoy_a, copy.getvalue(), decoy_b], longer, size=(256, 192), encoding=enc)
    _write(inbox / "uploads/video-clip-inside-longer.mp4", longer.getvalue())
    expected["uploads/video-clip-inside-longer.mp4"] = "match (video: clip inside a longer one)"
    _write(inbox / "uploads/video-decoy.mp4", decoy_a)
    expected["uploads/video-decoy.mp4"] = "no match"


def run_demo(
    target: Path,
    *,
    out: Console,
    err: Console,
    workers: int | None = None,
    progress: Callable[[str], AbstractContextManager[ProgressSink]] | None = None,
) -> dict[str, Any]:
    """Run the demo; ``progress`` makes the progress display of the scan (the CLI passes its bar)."""
    started = time.monotonic()
    target = target.expanduser().resolve()
    known_dir, inbox, expected = prepare(target)
    settings = load_settings(home=target / "home", database_url="")
    store = Store.from_settings(settings)
    banks = BankService(store, settings, actor="demo")
    out.print("[bold]1. A bank of known pictures[/] (generated shapes stand in for known material)")
    banks.create_bank("demo-known", description="demo: generated pictures")
    media = sorted([*known_dir.glob("*.jpg"), *known_dir.glob("*.mp4")])
    report, _ = banks.add_files("demo-known", media, category="demo")
    videos = sum(p.suffix == ".mp4" for p in media)
    out.print(f"   demo-known: {report.added} hashes from {len(media) - videos} pictures and {videos} video")
    banks.create_bank("demo-allow", allowlist=True, description="demo: reviewed false positives")
    banks.add_files("demo-allow", [known_dir / "allowed.jpg"], category="reviewed-benign")
    out.print("   demo-allow: an allowlist bank holding one reviewed picture")
    out.print(f"[bold]2. Scanning {inbox}[/]: altered copies, decoys, broken files and a zip")
    matcher = Matcher.open(store, settings)
    records: list[dict[str, Any]] = []
    options = ScanOptions(
        workers=workers or min(settings.effective_workers(), 4),
        hash=HashOptions.from_settings(settings, dihedral=True),
    )
    with progress("demo scan") if progress else nullcontext() as sink:
        summary = Scanner(settings, matcher).run(inbox, options, records.append, sink)
    out.print("[bold]3. Results[/]")
    table = Table("file", "expected", "result")
    for rec in sorted(records, key=lambda r: str(r["path"])):
        if rec["path"].startswith("uploads/decoy-") and not rec.get("matched"):
            continue
        if rec.get("matched"):
            best = rec["matches"][0]
            video = next((m["video"] for m in rec["matches"] if m.get("video")), None)
            if video:
                seg = video["segments"][0] if video["segments"] else None
                where = f", at {seg['query_start']:.0f}-{seg['query_end']:.0f} s" if seg else ""
                result = f"[red]MATCH[/] {best['bank']} video, {video['bank_percent']:.0f}% of the bank video{where}"
            else:
                result = f"[red]MATCH[/] {best['bank']} distance {best['distance']}"
            if best.get("variant") not in (None, "original"):
                result += f" ({best['variant']})"
        elif rec.get("suppressed"):
            result = "[green]allowlisted[/] (match suppressed)"
        elif rec.get("error") and not rec.get("pdq"):
            result = f"[yellow]error[/]: {rec['error']}"
        else:
            result = "no match"
        if rec.get("error") and rec.get("pdq"):
            result += f" [yellow]({rec['error']})[/]"
        table.add_row(str(rec["path"]), expected.get(rec["path"], "?"), result)
    out.print(table)
    decoy_hits = sum(1 for r in records if r["path"].startswith("uploads/decoy-") and r.get("matched"))
    out.print(f"   {DECOYS} decoys scanned, {decoy_hits} false matches")
    out.print(
        f"[bold]{summary.files} files, {summary.matched} matched, {summary.errors} errors, "
        f"{time.monotonic() - started:.1f} s in all[/]"
    )
    store.dispose()
    return {"summary": summary.to_dict(), "records": records, "expected": expected}
