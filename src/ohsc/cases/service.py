"""The case service: one library call per action, used by the CLI and the web; each call records
its own audit event."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ohsc import audit
from ohsc.cases.categories import scheme as get_scheme
from ohsc.cases.jobs import IngestJobs, SourceProgress, claim, release
from ohsc.cases.model import Case, CaseStats, IngestSummary
from ohsc.cases.models import CaseItemRow, CaseRow, CaseSourceRow, CaseVoteRow
from ohsc.cases.reading import CaseReading
from ohsc.cases.viewing import CaseViewing
from ohsc.errors import CaseExistsError, InvalidInputError

if TYPE_CHECKING:
    from ohsc.scanning.pools import HashPool
    from ohsc.scanning.runner import ProgressSink


class CaseService(CaseReading, IngestJobs, CaseViewing):
    """Cases for one actor (an analyst, or ``cli:<user>``)."""

    # --- cases ---------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        scheme: str = "us",
        agreement: int = 1,
        stack_threshold: int | None = None,
        series_seconds: int = 3600,
        description: str = "",
    ) -> Case:
        name = name.strip()
        if not name or len(name) > 200 or any(not ch.isprintable() for ch in name):
            raise InvalidInputError("a case name is 1 to 200 printable characters")
        get_scheme(scheme)
        if not 1 <= agreement <= 5:
            raise InvalidInputError("agreement is 1 to 5 analysts")
        threshold = self.settings.pdq_threshold if stack_threshold is None else stack_threshold
        if not 0 <= threshold <= 128:
            raise InvalidInputError("the stack threshold is a PDQ distance, 0 to 128")
        try:
            with self.store.session() as s:
                if s.scalar(select(CaseRow.id).where(CaseRow.name == name)) is not None:
                    raise CaseExistsError(f"case {name!r} exists")
                row = CaseRow(
                    name=name,
                    description=description,
                    scheme=scheme.lower(),
                    agreement=agreement,
                    stack_threshold=threshold,
                    series_seconds=series_seconds,
                    created_by=self.actor,
                )
                s.add(row)
                s.flush()
                audit.record(
                    s,
                    actor=self.actor,
                    action="case.create",
                    object_type="case",
                    object_id=row.id,
                    details={"name": name, "scheme": row.scheme, "agreement": agreement},
                )
                return Case.of(row)
        except IntegrityError:
            raise CaseExistsError(f"case {name!r} exists") from None

    def list_cases(self) -> list[Case]:
        with self.store.session() as s:
            return [Case.of(r) for r in s.scalars(select(CaseRow).order_by(CaseRow.name))]

    def get(self, ref: str | int) -> Case:
        with self.store.session() as s:
            return Case.of(self._row(s, ref))

    # --- ingest --------------------------------------------------------------------------------

    def ingest(
        self,
        ref: str | int,
        source: Path,
        *,
        matcher: Any = None,
        workers: int | None = None,
        progress: ProgressSink | None = None,
        pool: HashPool | None = None,
    ) -> IngestSummary:
        """Ingest a folder, zip or tar archive, disk image or VICS export; run it again to resume.
        ``pool``: hash somewhere else (a Dask cluster, :class:`ohsc.cluster.DaskPool`; then
        ``workers`` only sizes the queue of items waiting to be hashed)."""
        from ohsc.cases import ingest

        if not source.exists():
            raise InvalidInputError(f"{source}: no such file or folder")
        root = source.resolve()
        kind = ingest.source_kind(root)
        # one idle connection held open: with SQLite's WAL, closing the last connection
        # checkpoints the database (an fsync) after every batch and progress row otherwise, and
        # the scan's pipeline waits meanwhile (30 ms a progress row, a third of the gap to scan)
        with self.store.held_open():
            return self._ingest(ingest, ref, root, kind, matcher, workers, progress, pool)

    def _ingest(
        self,
        ingest: Any,
        ref: str | int,
        root: Path,
        kind: str,
        matcher: Any,
        workers: int | None,
        progress: ProgressSink | None,
        pool: HashPool | None,
    ) -> IngestSummary:
        started = time.monotonic()
        with self.store.session() as s:
            case_row = self._row(s, ref)
            s.expunge(case_row)
            src = s.scalar(
                select(CaseSourceRow).where(
                    CaseSourceRow.case_id == case_row.id, CaseSourceRow.path == str(root)
                )
            )
            if src is None:
                src = CaseSourceRow(case_id=case_row.id, kind=kind, path=str(root), added_by=self.actor)
                s.add(src)
                s.flush()
            s.expunge(src)
        claim(src.id)  # one ingest of a source at a time (in this process)
        try:
            with self.store.session() as s:
                row = s.get(CaseSourceRow, src.id)
                assert row is not None
                row.status, row.failure, row.total, row.done = "running", None, None, 0
            summary = IngestSummary(source=str(root), kind=kind)
            tracked = SourceProgress(self.store, src.id, progress)
            if kind == "vics":
                from ohsc.cases.vics import ingest_vics

                ingest_vics(self.store, case_row, src.id, root, summary)
            else:
                ingest.run_ingest(
                    self.store,
                    self.settings,
                    case_row,
                    src,
                    root,
                    matcher=matcher,
                    workers=self.settings.effective_workers() if workers is None else workers,
                    progress=tracked,
                    summary=summary,
                    disk=kind == "disk",
                    pool=pool,
                )
            tracked.finish()
        finally:
            release(src.id)
        summary.elapsed = time.monotonic() - started
        ingest.finish_source(self.store, self.settings, case_row, src.id, self.actor, summary)
        return summary

    # --- numbers -------------------------------------------------------------------------------

    def stats(self, ref: str | int) -> CaseStats:
        with self.store.session() as s:
            case = self._row(s, ref)
            cid = case.id
            out = CaseStats(case=case.name, scheme=case.scheme)
            out.sources = int(s.scalar(select(func.count()).where(CaseSourceRow.case_id == cid)) or 0)
            out.files = int(
                s.scalar(
                    select(func.coalesce(func.sum(CaseSourceRow.files), 0)).where(
                        CaseSourceRow.case_id == cid
                    )
                )
                or 0
            )
            out.errors = int(
                s.scalar(
                    select(func.coalesce(func.sum(CaseSourceRow.errors), 0)).where(
                        CaseSourceRow.case_id == cid
                    )
                )
                or 0
            )
            items = select(CaseItemRow).where(CaseItemRow.case_id == cid).subquery()
            out.unique = int(s.scalar(select(func.count()).select_from(items)) or 0)
            out.known = int(
                s.scalar(select(func.count()).select_from(items).where(items.c.known.is_(True))) or 0
            )
            out.unknown = out.unique - out.known
            out.stacks = int(s.scalar(select(func.count(func.distinct(items.c.stack_id)))) or 0)
            sizes = select(items.c.stack_id, func.count().label("n")).group_by(items.c.stack_id).subquery()
            out.multi_stacks = int(
                s.scalar(select(func.count()).select_from(sizes).where(sizes.c.n > 1)) or 0
            )
            out.series = int(
                s.scalar(
                    select(func.count(func.distinct(items.c.series_id))).where(items.c.series_id.is_not(None))
                )
                or 0
            )
            out.disputed = int(
                s.scalar(select(func.count()).select_from(items).where(items.c.disputed.is_(True))) or 0
            )
            labels = get_scheme(case.scheme)
            for code, n in s.execute(select(items.c.category, func.count()).group_by(items.c.category)):
                out.by_category[labels.label(code)] = int(n)
                if code is not None:
                    out.categorised += int(n)
            for kind, n in s.execute(select(items.c.media_kind, func.count()).group_by(items.c.media_kind)):
                out.by_kind[str(kind)] = int(n)
            for actor, n in s.execute(
                select(CaseVoteRow.actor, func.count())
                .where(CaseVoteRow.case_id == cid)
                .group_by(CaseVoteRow.actor)
            ):
                out.by_analyst[str(actor)] = int(n)
            return out

    # --- outputs -------------------------------------------------------------------------------

    def export_vics(self, ref: str | int, fh: Any, *, categorised_only: bool = True) -> int:
        from ohsc.cases.vics import write_export

        case = self.get(ref)
        n = write_export(self.store, case.id, fh, categorised_only=categorised_only)
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor,
                action="case.export",
                object_type="case",
                object_id=case.id,
                details={"format": "vics", "records": n},
            )
        return n

    # --- categorising --------------------------------------------------------------------------

    def categorise(
        self, ref: str | int, item_ids: list[int], category: str, *, whole_stacks: bool = False
    ) -> dict[str, Any]:
        """This analyst's category for items (``whole_stacks``: every item of their stacks).

        ``category`` is a code, key or name of the case's scheme. Returns how many items were
        categorised and how many are now final or disputed.
        """
        from ohsc.cases.votes import vote

        if not item_ids:
            raise InvalidInputError("no items selected")
        if len(item_ids) > 10_000:
            raise InvalidInputError("at most 10000 items at once")
        with self.store.session() as s:
            case = self._row(s, ref)
            code = get_scheme(case.scheme).parse(category)
            ids = set(item_ids)
            if whole_stacks:
                stacks = set(
                    s.scalars(
                        select(CaseItemRow.stack_id).where(
                            CaseItemRow.case_id == case.id, CaseItemRow.id.in_(ids)
                        )
                    )
                )
                ids |= set(
                    s.scalars(
                        select(CaseItemRow.id).where(
                            CaseItemRow.case_id == case.id, CaseItemRow.stack_id.in_(stacks)
                        )
                    )
                )
            rows = list(
                s.scalars(select(CaseItemRow).where(CaseItemRow.case_id == case.id, CaseItemRow.id.in_(ids)))
            )
            if len(rows) != len(ids) and not whole_stacks:
                from ohsc.errors import CaseItemNotFoundError

                raise CaseItemNotFoundError(
                    f"items not in case {case.name!r}: {sorted(ids - {r.id for r in rows})[:10]}"
                )
            for row in sorted(rows, key=lambda r: r.id):
                vote(s, row, self.actor, code, case.agreement)
            result: dict[str, Any] = {
                "items": len(rows),
                "item_ids": sorted(r.id for r in rows),
                "category": code,
                "final": sum(r.category == code and r.category_source == "agreed" for r in rows),
                "disputed": sum(r.disputed for r in rows),
            }
            audit.record(
                s,
                actor=self.actor,
                action="case.categorise",
                object_type="case",
                object_id=case.id,
                details={**result, "item_ids": result["item_ids"][:1000]},
            )
            return result

    # --- outputs: banks and reports ------------------------------------------------------------

    def push_to_bank(self, ref: str | int, bank: str, *, include_known: bool = False) -> dict[str, int]:
        """Add the case's agreed (and, with ``include_known``, known) pertinent categories to a
        bank, so they reach platforms through exchanges. Returns items and entries added."""
        from ohsc.banks.service import BankService
        from ohsc.cases.outputs import bank_entries, confirmed_items, entry_source

        case = self.get(ref)
        items = 0

        def counted() -> Any:
            nonlocal items
            for row in confirmed_items(self.store, case.id, include_known=include_known):
                items += 1
                yield row

        banks = BankService(self.store, self.settings, actor=self.actor)
        report = banks.add_entries(
            bank, bank_entries(case, counted()), source=entry_source(), source_ref=f"case:{case.name}"
        )
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor,
                action="case.push",
                object_type="case",
                object_id=case.id,
                details={"bank": bank, "items": items, "added": report.added, "include_known": include_known},
            )
        return {"items": items, "added": report.added, "errors": len(report.errors)}

    def report(self, ref: str | int, fmt: str = "html") -> bytes:
        """The case report (``html`` or ``pdf``): counts, hash lists, who categorised what."""
        from ohsc.cases.outputs import html_to_pdf, report_html
        from ohsc.store.types import utcnow

        if fmt not in ("html", "pdf"):
            raise InvalidInputError("a report is html or pdf")
        case = self.get(ref)
        document = report_html(
            self.store,
            case,
            self.stats(case.id),
            get_scheme(case.scheme),
            self.actor,
            utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        )
        data = html_to_pdf(document) if fmt == "pdf" else document.encode()
        with self.store.session() as s:
            audit.record(
                s,
                actor=self.actor,
                action="case.report",
                object_type="case",
                object_id=case.id,
                details={"format": fmt},
            )
        return data
