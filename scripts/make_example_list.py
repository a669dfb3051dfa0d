"""Regenerate examples/known-hashes.csv: the demo's generated pictures as a partner's hash list.

Run after changing ``ohsc.demo.synth`` (the README walkthrough imports this file and then
uploads the demo pictures, so their hashes must agree).
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from ohsc.demo import prepare
from ohsc.signals.files import HashOptions, hash_path

OUT = Path(__file__).resolve().parents[1] / "examples" / "known-hashes.csv"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        known, _inbox, _expected = prepare(Path(tmp) / "demo")
        rows = []
        for i, path in enumerate(sorted(known.glob("known-*.jpg"))):
            sig = hash_path(path, HashOptions(mode="exact"))
            category = "example-a" if i < 4 else "example-b"
            common = [category, f"demo-{i:02d}", "generated demo picture (benign)", "demo"]
            rows.append(["md5", sig.md5, *common, ""])
            rows.append(["sha256", sig.sha256, *common, ""])
            rows.append(["pdq", sig.pdq, *common, sig.pdq_quality])
    with OUT.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["signal_type", "value", "category", "external_id", "note", "labels", "quality"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
