"""VICS JSON import: the streaming reader against loading the whole document (``json.load``).

Generates a Project VIC hash set of benign arbitrary hex (MD5, SHA1, a PhotoDNA-shaped
alternative hash that gets skipped, string categories and booleans, as real exports have) and
reads it in fresh processes, measuring wall time and the growth of peak resident memory (VmHWM):

* ``ohsc``: ``get_format("vics").read`` (ijson, line-tracked), every entry materialised;
* ``reference``: ``json.load`` of the file and a loop over its records (what a naive reader does).

Also imports part of it into SQLite through ``BankService.import_file`` (VICS, and the same
hashes as CSV) and reports entries/s; with ``--reference-src DIR`` (another checkout's ``src``,
e.g. ``../main/src``) the imports run with that code too, alternating, for a before/after ratio
measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_vics_reader.py [--records 200000] [--reference-src ../main/src]``
(Linux).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time

def hwm():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

mode, path = sys.argv[1], sys.argv[2]
if mode == "ohsc":
    from ohsc.banks.formats import get_format
    fmt = get_format("vics")
    list(fmt.read(open(sys.argv[3], "rb")))  # warm up imports
before, start = hwm(), time.perf_counter()
count = 0
if mode == "ohsc":
    with open(path, "rb") as fh:
        for item in fmt.read(fh):
            count += 1
elif mode in ("import", "import-csv"):
    import tempfile
    from pathlib import Path
    from ohsc.banks.service import BankService
    from ohsc.settings import load_settings
    from ohsc.store.db import Store
    home = Path(tempfile.mkdtemp())
    service = BankService(Store(f"sqlite:///{home / 'ohsc.db'}"), load_settings(home=home))
    service.create_bank("bench")
    before, start = hwm(), time.perf_counter()
    count = service.import_file("bench", Path(path), "vics" if mode == "import" else "csv").added
else:
    with open(path, "rb") as fh:
        document = json.load(fh)
    for record in document["value"]:
        for key in ("MD5", "SHA1"):
            if record.get(key):
                count += 1
print(json.dumps({"seconds": time.perf_counter() - start, "grew_kib": hwm() - before, "items": count}))
"""


def write_hash_set(path: Path, records: int) -> None:
    with path.open("w") as fh:
        fh.write(
            '{\n  "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",\n'
        )
        fh.write('  "value": [\n')
        for i in range(records):
            seed = f"bench-{i}".encode()
            record = {
                "MediaID": i + 1,
                "Category": str(1 + i % 3),
                "MD5": hashlib.md5(seed, usedforsecurity=False).hexdigest().upper(),
                "SHA1": hashlib.sha1(seed, usedforsecurity=False).hexdigest().upper(),
                "MediaSize": str(1000 + i),
                "IsPrecategorized": "true",
                "VictimIdentified": "false",
                "AlternativeHashes": [{"HashName": "PhotoDNA", "HashValue": "QUJD" * 48}],
            }
            fh.write("    " + json.dumps(record) + (",\n" if i < records - 1 else "\n"))
        fh.write("  ]\n}\n")


def write_csv(vics_path: Path, csv_path: Path) -> None:
    """The same hashes as a CSV list (two rows per media record)."""
    records = json.loads(vics_path.read_text())["value"]
    with csv_path.open("w") as fh:
        fh.write("signal_type,value,category,external_id,note\n")
        for r in records:
            for key in ("MD5", "SHA1"):
                fh.write(f"{key.lower()},{r[key].lower()},vics:{r['Category']},{r['MediaID']},\n")


def measure(mode: str, path: Path, small: Path, src: str | None = None) -> dict[str, float]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = str(Path(src).resolve())
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), str(small)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def compare_imports(part: Path, part_csv: Path, small: Path, src: str, rounds: int) -> None:
    """Entries/s of this code and of ``src``, alternating; medians and their ratio."""
    rates: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for mode, path in (("import", part), ("import-csv", part_csv)):
            for name, where in (("this", None), ("reference", src)):
                r = measure(mode, path, small, where)
                rates.setdefault((mode, name), []).append(r["items"] / r["seconds"])
    for mode in ("import", "import-csv"):
        this = statistics.median(rates[(mode, "this")])
        ref = statistics.median(rates[(mode, "reference")])
        label = "VICS" if mode == "import" else "CSV "
        print(
            f"  {label} import: this {this:7.0f} entries/s, reference ({src}) {ref:7.0f} entries/s, "
            f"ratio {this / ref:.2f} (medians of {rounds})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument(
        "--import-records", type=int, default=20_000, help="also import this many into SQLite (0: skip)"
    )
    parser.add_argument("--reference-src", help="compare imports with the code under this src folder")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds for --reference-src")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, small = Path(tmp) / "set.json", Path(tmp) / "small.json"
        write_hash_set(path, args.records)
        write_hash_set(small, 10)
        size_mb = path.stat().st_size / 1e6
        ohsc = measure("ohsc", path, small)
        reference = measure("reference", path, small)
        if args.import_records:
            part = Path(tmp) / "part.json"
            write_hash_set(part, args.import_records)
            part_read = measure("ohsc", part, small)
            part_import = measure("import", part, small)
            if args.reference_src:
                part_csv = Path(tmp) / "part.csv"
                write_csv(part, part_csv)
                print(f"{args.import_records} records imported into SQLite, this code against a reference:")
                compare_imports(part, part_csv, small, args.reference_src, args.rounds)
    print(f"{args.records} media records, {size_mb:.1f} MB")
    for name, r in (("ohsc (streamed)", ohsc), ("reference (json.load)", reference)):
        print(
            f"  {name:24} {r['seconds']:6.2f} s  {r['seconds'] and size_mb / r['seconds']:6.1f} MB/s  "
            f"peak memory +{r['grew_kib'] / 1024:7.1f} MiB"
        )
    print(f"  time ratio ohsc/reference: {ohsc['seconds'] / reference['seconds']:.2f}")
    print(
        f"  peak memory: reference +{reference['grew_kib'] / 1024:.0f} MiB, ohsc +{ohsc['grew_kib'] / 1024:.1f} MiB"
    )
    if args.import_records:
        print(
            f"{args.import_records} records imported into SQLite (BankService.import_file): "
            f"{part_import['seconds']:.2f} s, {part_import['items'] / part_import['seconds']:.0f} entries/s; "
            f"reading is {part_read['seconds'] / part_import['seconds']:.0%} of it"
        )


if __name__ == "__main__":
    main()
