"""Ingest a source into a case: hash every file with the scan's pipeline, match it against the
banks, fold exact duplicates into one item with many locations, stack near-duplicates.

Resumable after ``kill -9``: every hashed file is first appended to the source's journal (one
JSON line, flushed; :mod:`ohsc.scanning.journal`), then applied to the store in batches. Running
the same ingest again replays the journal lines the store lacks (applying is idempotent: a
location is unique per source and path) and skips the files the journal holds, so nothing is
lost or counted twice. Memory stays bounded: the scanner keeps a few items in flight and a batch
holds at most :data:`~ohsc.cases.batching.BATCH` records (applied in a writer thread beside
the scan: :mod:`ohsc.cases.batching`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from ohsc import audit
from ohsc.cases.batching import Batcher, writes_beside
from ohsc.cases.categories import code_of_bank_category
from ohsc.cases.jobs import SourceProgress
from ohsc.cases.models import CaseItemRow, CaseLocationRow, CaseRow, CaseSourceRow
from ohsc.cases.series import camera_of, regroup, taken_at
from ohsc.cases.stack_sizes import add_to_stacks
from ohsc.cases.stacking import Stacker, one_faiss_thread
from ohsc.scanning.items import MEMBER_SEP
from ohsc.scanning.journal import Journal
from ohsc.scanning.pools import HashPool
from ohsc.scanning.runner import ProgressSink, Scanner, ScanOptions
from ohsc.settings import Settings
from ohsc.signals.files import HashOptions
from ohsc.signals.sniff import SNIFF_BYTES, MediaKind, archive_kind, sniff
from ohsc.store.db import Store
from ohsc.store.types import utcnow

ITEMS: Table = CaseItemRow.__table__  # type: ignore[assignment]
LOCATIONS: Table = CaseLocationRow.__table__  # type: ignore[assignment]


def source_kind(path: Path) -> str:
    """folder | archive | vics | file, recognised by content (never by the name)."""
    if path.is_dir():
        return "folder"
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if archive_kind(head) is not None:
        return "archive"
    if sniff(head) in (MediaKind.IMAGE, MediaKind.VIDEO):
        return "file"
    from ohsc.cases.disk import is_disk_image

    if is_disk_image(path):
        return "disk"
    text = head.lstrip()
    if text.startswith(b"{") and (b"odata" in head or b'"value"' in head):
        return "vics"
    return "file"


def journal_path(settings: Settings, case_id: int, source_id: int) -> Path:
    return settings.home / "cases" / str(case_id) / f"source-{source_id}.jsonl"


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """The journal's records, one at a time (nothing kept: a journal of a million files reads in
    the memory of one line). A torn last line (killed mid-write) is cut off when reached."""
    if not path.exists():
        return
    good_end = 0
    with path.open("rb") as fh:
        for line in fh:
            try:
                record = json.loads(line) if line.endswith(b"\n") else None
            except ValueError:
                record = None
            if record is None:
                break
            good_end += len(line)
            if isinstance(record, dict) and isinstance(record.get("path"), str):
                yield record
    if good_end != path.stat().st_size:
        with path.open("r+b") as fh:
            fh.truncate(good_end)


@dataclass(frozen=True, slots=True)
class FileTimes:
    modified: datetime | None = None
    accessed: datetime | None = None
    changed: datetime | None = None
    deleted: bool = False


def _stamp(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def disk_times(root: Path, item_id: str) -> FileTimes:
    """File-system times of a file on disk (archive members have none here)."""
    if MEMBER_SEP in item_id:
        return FileTimes()
    path = root / item_id if root.is_dir() else root
    try:
        st = os.stat(path)
    except OSError:
        return FileTimes()
    return FileTimes(_stamp(st.st_mtime), _stamp(st.st_atime), _stamp(st.st_ctime))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _when(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def folder_of(item_id: str) -> str:
    inner = item_id.rsplit(MEMBER_SEP, 1)
    head = inner[-1].rsplit("/", 1)[0] if "/" in inner[-1] else ""
    return f"{inner[0]}{MEMBER_SEP}{head}" if len(inner) == 2 else head


def _known(record: dict[str, Any]) -> tuple[str | None, str | None]:
    """The bank and VICS category of the best match (non-allowlist), if any."""
    matches = [m for m in record.get("matches") or () if not m.get("allowlist")]
    if not matches:
        return None, None
    best = min(matches, key=lambda m: (m.get("distance", 0), m.get("bank", "")))
    codes = [code_of_bank_category(m.get("category")) for m in matches]
    pertinent = [c for c in codes if c is not None and c != "0"]
    code = min(pertinent) if pertinent else next((c for c in codes if c is not None), None)
    return str(best.get("bank")), code


class Applier:
    """Applies journal records to the store (idempotent per source and path)."""

    def __init__(self, store: Store, settings: Settings, case: CaseRow, source_id: int, root: Path) -> None:
        self.store = store
        self.case_id = case.id
        self.source_id = source_id
        self.root = root
        with store.session() as s:
            self.stacker = Stacker.load(s, case.id, case.stack_threshold, settings.pdq_quality_min)

    def apply(
        self, records: list[dict[str, Any]], times: Callable[[dict[str, Any]], FileTimes]
    ) -> dict[str, int]:
        """One transaction, a handful of statements for the whole batch (never one per file):
        the paths and digests already there, the new items (ids returned), their locations,
        their stacks and the location counts of items seen before."""
        counts = {"new": 0, "duplicates": 0, "known": 0, "errors": 0, "files": 0}
        with self.store.session() as s:
            seen = self._seen_paths(s, [r["path"] for r in records])
            md5s = {r["md5"] for r in records if r.get("md5")}
            before: dict[str, int] = dict(
                s.execute(
                    select(CaseItemRow.md5, CaseItemRow.id).where(
                        CaseItemRow.case_id == self.case_id, CaseItemRow.md5.in_(md5s)
                    )
                ).all()
            )
            fresh: dict[str, dict[str, Any]] = {}  # md5 -> the new item's values, in order
            more: dict[int, int] = {}  # items seen before: id -> locations added
            placed: list[dict[str, Any]] = []  # (md5, record) of each new location
            for record in records:
                if record["path"] in seen or record.get("kind") == "archive":
                    continue  # done already; an archive counts by its members
                seen.add(record["path"])
                counts["files"] += 1
                if record.get("error"):
                    counts["errors"] += 1
                md5 = record.get("md5")
                if not md5:
                    continue
                if md5 in before:
                    more[before[md5]] = more.get(before[md5], 0) + 1
                    counts["duplicates"] += 1
                elif md5 in fresh:
                    fresh[md5]["locations"] += 1
                    counts["duplicates"] += 1
                else:
                    fresh[md5] = self._item_values(record)
                    counts["new"] += 1
                    counts["known"] += fresh[md5]["known"]
                placed.append(record)
            ids = self._insert_items(s, list(fresh.values()))
            self._insert_locations(s, placed, {**before, **ids}, times)
            self._update_counts(s, more)
        return counts

    def _seen_paths(self, s: Session, paths: list[str]) -> set[str]:
        return set(
            s.scalars(
                select(CaseLocationRow.path).where(
                    CaseLocationRow.source_id == self.source_id, CaseLocationRow.path.in_(paths)
                )
            )
        )

    def _insert_items(self, s: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert the new items with their stacks; md5 -> id."""
        if not rows:
            return {}
        table = ITEMS
        got = s.connection().execute(insert(table).returning(table.c.id, table.c.md5), rows)
        ids: dict[str, int] = {md5: item_id for item_id, md5 in got}
        stacks = self.stacker.place_many([(ids[r["md5"]], r["pdq"], r["pdq_quality"]) for r in rows])
        s.connection().execute(
            update(table).where(table.c.id == bindparam("item")).values(stack_id=bindparam("stack")),
            [{"item": item_id, "stack": stacks[item_id]} for item_id in ids.values()],
        )
        add_to_stacks(s, self.case_id, (stacks[item_id] for item_id in ids.values()))
        return ids

    def _insert_locations(
        self,
        s: Session,
        records: list[dict[str, Any]],
        ids: dict[str, int],
        times: Callable[[dict[str, Any]], FileTimes],
    ) -> None:
        rows = []
        for record in records:
            when = times(record)
            rows.append(
                {
                    "item_id": ids[record["md5"]],
                    "source_id": self.source_id,
                    "path": record["path"],
                    "folder": folder_of(record["path"]),
                    "modified_at": when.modified,
                    "accessed_at": when.accessed,
                    "changed_at": when.changed,
                    "deleted": when.deleted,
                }
            )
        if rows:
            s.connection().execute(insert(LOCATIONS), rows)

    @staticmethod
    def _update_counts(s: Session, more: dict[int, int]) -> None:
        """Items found again (exact duplicates across batches): their location counts."""
        if not more:
            return
        table = ITEMS
        s.connection().execute(
            update(table)
            .where(table.c.id == bindparam("item"))
            .values(locations=table.c.locations + bindparam("added")),
            [{"item": item_id, "added": n} for item_id, n in more.items()],
        )

    def _item_values(self, record: dict[str, Any]) -> dict[str, Any]:
        """The column values of a new item (one location so far)."""
        exif: dict[str, str] = (record.get("extra") or {}).get("exif") or {}
        bank, code = _known(record)
        return {
            "case_id": self.case_id,
            "md5": record["md5"],
            "sha1": record.get("sha1"),
            "sha256": record.get("sha256"),
            "pdq": record.get("pdq"),
            "pdq_quality": record.get("pdq_quality"),
            "vpdq": record.get("vpdq"),
            "media_kind": str(record.get("kind") or "other"),
            "media_format": record.get("format"),
            "size": record.get("size"),
            "known": bank is not None,
            "known_bank": bank,
            "known_category": code,
            "category": code,
            "category_source": "known" if code is not None else None,
            "disputed": False,
            "stack_id": None,
            "series_id": None,
            "camera": camera_of(exif),
            "taken_at": taken_at(exif),
            "exif": exif,
            "locations": 1,
            "error": record.get("error"),
            "created_at": utcnow(),
        }


def _slim(record: dict[str, Any]) -> dict[str, Any]:
    """What the journal keeps of a scan record (vPDQ as one line of text, no keyframe strip,
    no match details)."""
    keep = (
        "path",
        "size",
        "md5",
        "sha1",
        "sha256",
        "kind",
        "format",
        "pdq",
        "pdq_quality",
        "error",
        "error_code",
        "extra",
    )
    out = {k: record[k] for k in keep if record.get(k) is not None}
    if isinstance(out.get("extra"), dict) and "strip" in out["extra"]:
        out["extra"] = {k: v for k, v in out["extra"].items() if k != "strip"}
    if record.get("vpdq"):  # the frames as one line of text, as bank entries hold them
        from ohsc.signals.vpdq_frames import format_vpdq, parse_vpdq

        out["vpdq"] = format_vpdq(parse_vpdq(json.dumps(record["vpdq"])), variants=False)
    matches = [
        {k: m.get(k) for k in ("bank", "category", "distance", "allowlist")}
        for m in record.get("matches") or ()
    ]
    if matches:
        out["matches"] = matches
    return out


def run_ingest(
    store: Store,
    settings: Settings,
    case: CaseRow,
    source: CaseSourceRow,
    root: Path,
    *,
    matcher: Any,
    workers: int,
    progress: ProgressSink | None,
    summary: Any,
    disk: bool = False,
    pool: HashPool | None = None,
) -> None:
    """Ingest a folder, an archive, a single file or a disk image (resuming from its journal)."""
    jpath = journal_path(settings, case.id, source.id)
    applier = Applier(store, settings, case, source.id, root)

    background = writes_beside(store)
    tracked = progress if background and isinstance(progress, SourceProgress) else None
    if tracked is not None:
        tracked.deferred = True  # its row is written with the batches, in the writer thread

    def count(c: dict[str, int]) -> None:
        summary.files += c["files"]
        summary.new_items += c["new"]
        summary.duplicates += c["duplicates"]
        summary.known += c["known"]
        summary.errors += c["errors"]
        if tracked is not None:
            tracked.write()

    fs_times: dict[str, FileTimes] = {}
    times = partial(_record_times, root, disk)
    files_before = summary.files
    done = _replay(jpath, Batcher(applier, times, count, background=background))
    summary.replayed = summary.files - files_before
    batcher = Batcher(applier, times, count, background=background)
    journal = Journal(jpath, append=True)

    def on_record(record: dict[str, Any]) -> None:
        strip = (record.get("extra") or {}).get("strip")
        if isinstance(strip, str) and record.get("md5"):  # kept before the journal says done
            from ohsc.cases.strips import keep

            keep(settings.home, case.id, str(record["md5"]), strip)
        slim = _slim(record)
        found = fs_times.pop(record["path"], None)
        if found is not None:  # disk images: the times go into the journal with the record
            slim["fs"] = [_iso(found.modified), _iso(found.accessed), _iso(found.changed), found.deleted]
        journal.write(slim)
        batcher.add(slim)

    options = ScanOptions(
        workers=workers,
        hash=HashOptions.from_settings(settings),
        skip=frozenset(done),
        job=_case_job(),
        inline=workers <= 0,  # a pool, when given, takes precedence
        pool=pool,
    )
    scanner = Scanner(settings, matcher)
    if disk:
        from ohsc.cases.disk import DiskScanner

        scanner = DiskScanner(settings, matcher, fs_times)
    with one_faiss_thread():
        try:
            scanned = scanner.run(root, options, on_record, progress)
        finally:
            journal.close()
            batcher.close()
    summary.resumed_skipped = scanned.resumed_skipped
    summary.interrupted = scanned.interrupted


def _record_times(root: Path, disk: bool, record: dict[str, Any]) -> FileTimes:
    """A record's file-system times: kept in its journal line (disk images), else read now."""
    kept = record.get("fs")
    if isinstance(kept, list) and len(kept) == 4:
        return FileTimes(_when(kept[0]), _when(kept[1]), _when(kept[2]), bool(kept[3]))
    return FileTimes() if disk else disk_times(root, record["path"])


def _replay(jpath: Path, batcher: Batcher) -> set[str]:
    """Apply what an earlier run of this ingest journaled; the paths it finished."""
    done: set[str] = set()
    with one_faiss_thread(), batcher as replay:
        for record in read_journal(jpath):
            done.add(record["path"])
            replay.add(record)
    return done


def _case_job() -> Any:
    from ohsc.cases.worker import case_job

    return case_job


def journal_errors(path: Path) -> int | None:
    """Files of the source that could not be hashed or read, by its journal (None: no journal)."""
    if not path.exists():
        return None
    return sum(1 for record in read_journal(path) if record.get("error"))


def finish_source(
    store: Store, settings: Settings, case: CaseRow, source_id: int, actor: str, summary: Any
) -> None:
    """Mark the source done, regroup the case's series, record the ``case.ingest`` event."""
    errors = journal_errors(journal_path(settings, case.id, source_id))
    with store.session() as s:
        row = s.get(CaseSourceRow, source_id)
        assert row is not None
        row.status = "interrupted" if summary.interrupted else "done"
        row.files = int(
            s.scalar(
                select(func.count())
                .select_from(CaseLocationRow)
                .where(CaseLocationRow.source_id == source_id)
            )
            or 0
        )
        # a resumed ingest replays its journal: the journal, not the runs, says how many failed
        row.errors = errors if errors is not None else row.errors + summary.errors
        row.finished_at = utcnow()
        summary.series = regroup(s, case.id, case.series_seconds)
        audit.record(
            s,
            actor=actor,
            action="case.ingest",
            object_type="case",
            object_id=case.id,
            details={"source_id": source_id, **summary.to_dict()},
        )
