"""Command start-up: ``ohsc --help``, ``ohsc bank list`` and friends against ``python -c pass``.

Runs hyperfine (``apt-get install hyperfine``) in one go over the reference and each command, so
the figures share the machine's load; reports wall and CPU time and the ratio to the reference.
With ``--baseline-src DIR`` (another checkout's ``src``, e.g. a ``git worktree`` of main) the same
commands run again from that tree in the same hyperfine run. ``--importtime`` adds the slowest
imports of each command (``python -X importtime``).

    .venv/bin/python benchmarks/bench_startup.py
    git worktree add /tmp/ohsc-base main
    .venv/bin/python benchmarks/bench_startup.py --baseline-src /tmp/ohsc-base/src --importtime
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO, machine

COMMANDS: list[tuple[str, list[str]]] = [
    ("ohsc --help", ["--help"]),
    ("ohsc bank list", ["bank", "list"]),
    ("ohsc match MD5", ["match", "d41d8cd98f00b204e9800998ecf8427e"]),
    ("ohsc hash photo.jpg", ["hash", "{photo}"]),
]


def _cli(src: Path | None, args: list[str]) -> str:
    """A shell command running ``ohsc ARGS`` from ``src`` (default: the installed package)."""
    prefix = f"env PYTHONPATH={shlex.quote(str(src))} " if src else ""
    return prefix + shlex.join([sys.executable, "-m", "ohsc.cli", *args])


def _prepare(home: Path, photo: Path) -> None:
    env = {**os.environ, "OHSC_HOME": str(home)}
    for args in (["bank", "create", "known"], ["bank", "add", "known", str(photo)]):
        subprocess.run([sys.executable, "-m", "ohsc.cli", *args], env=env, check=True, capture_output=True)


def _importtime(src: Path | None, args: list[str], home: Path, top: int = 8) -> list[tuple[float, str]]:
    env = {**os.environ, "OHSC_HOME": str(home)}
    if src:
        env["PYTHONPATH"] = str(src)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ohsc.cli", *args], env=env, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) <= 2:  # top-level imports and their direct children
            rows.append((int(m.group(1)) / 1000, m.group(3)))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--baseline-src", type=Path, help="Another tree's src/ to compare in the same run.")
    ap.add_argument("--importtime", action="store_true", help="Also list the slowest imports.")
    args = ap.parse_args()
    if shutil.which("hyperfine") is None:
        raise SystemExit("needs hyperfine: apt-get install hyperfine")
    work = Path(tempfile.mkdtemp(prefix="ohsc-startup-"))
    from PIL import Image

    photo = work / "photo.jpg"  # a benign generated picture
    Image.effect_mandelbrot((640, 480), (-2.0, -1.2, 1.0, 1.2), 100).convert("RGB").save(photo, quality=90)
    home = work / "home"
    _prepare(home, photo)
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.baseline_src:
        trees.append(("baseline", args.baseline_src.resolve()))
    names = ["reference: python -c pass", "floor of a store command: python -c 'import sqlalchemy.orm'"]
    cmds = [
        shlex.join([sys.executable, "-c", "pass"]),
        shlex.join([sys.executable, "-c", "import sqlalchemy.orm"]),
    ]
    for label, src in trees:
        for name, cli_args in COMMANDS:
            names.append(f"{name} ({label})")
            cmds.append(_cli(src, [a.format(photo=photo) for a in cli_args]))
    export = work / "hyperfine.json"
    hf = ["hyperfine", "-N", "--warmup", "3", "--runs", str(args.runs), "--export-json", str(export)]
    for name, cmd in zip(names, cmds, strict=True):
        hf += ["-n", name, cmd]
    subprocess.run(hf, env={**os.environ, "OHSC_HOME": str(home)}, check=True, capture_output=True)
    results = json.loads(export.read_text())["results"]
    ref = results[0]["mean"]
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    print("| command | wall mean ± sd | user + sys CPU | wall / reference |")
    print("|---|---:|---:|---:|")
    for r in results:
        cpu = r["user"] + r["system"]
        print(
            f"| {r['command']} | {r['mean'] * 1000:.0f} ± {r['stddev'] * 1000:.0f} ms | "
            f"{cpu * 1000:.0f} ms | {r['mean'] / ref:.1f}x |"
        )
    if args.importtime:
        for label, src in trees:
            for name, cli_args in COMMANDS[:2]:
                rows = _importtime(src, cli_args, home)
                print(
                    f"\nslowest imports, {name} ({label}): " + ", ".join(f"{n} {ms:.0f} ms" for ms, n in rows)
                )
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "startup.json").write_text(json.dumps(results, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
