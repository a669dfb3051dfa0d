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
from ohsc.cases.model import Case, CaseStats, IngestSummary
from ohsc.cases.models import CaseItemRow, CaseRow, CaseSourceRow, CaseVoteRow
from ohsc.cases.reading import CaseReading
from ohsc.errors import CaseExistsError, InvalidInputError

if TYPE_CHECKING:
    from ohsc.scanning.runner import ProgressSink


class CaseService(CaseReading):
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
    ) -> IngestSummary:
        """Ingest a folder, zip or tar archive, disk image or VICS export; run it again to resume."""
        from ohsc.cases import ingest

        if not source.exists():
            raise InvalidInputError(f"{source}: no such file or folder")
        root = source.resolve()
        kind = ingest.source_kind(root)
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
            src.status = "running"
            s.expunge(src)
        summary = IngestSummary(source=str(root), kind=kind)
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
                progress=progress,
                summary=summary,
                disk=kind == "disk",
            )
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

    # --- media ---------------------------------------------------------------------------------

    def preview(self, ref: str | int, item_id: int) -> bytes | None:
        """A small, greyscale, heavily blurred JPEG of a picture item (made here: nothing sharper
        reaches the browser); None when it is not a readable picture."""
        from ohsc.cases.media import read_item
        from ohsc.review.previews import blurred_preview

        self._check_item(ref, item_id)
        data = read_item(self.store, self.settings, item_id)
        return None if data is None else blurred_preview(data, max_pixels=self.settings.max_image_pixels)

    def _check_item(self, ref: str | int, item_id: int) -> CaseRow:
        from ohsc.errors import CaseItemNotFoundError

        with self.store.session() as s:
            case = self._row(s, ref)
            found = s.scalar(select(CaseItemRow.case_id).where(CaseItemRow.id == item_id))
            if found != case.id:
                raise CaseItemNotFoundError(f"no item {item_id} in case {case.name!r}")
            s.expunge(case)
            return case

    def reveal(self, ref: str | int, item_id: int, user_id: int, *, limit_reached: bool, grants: Any) -> str:
        """Record that an analyst is shown an item unblurred (audited; counted against the
        review exposure budget) and return the grant that unlocks it."""
        from ohsc.cases.models import CaseRevealRow
        from ohsc.errors import ExposureLimitError

        if limit_reached:
            raise ExposureLimitError(
                f"daily limit of {self.settings.review_daily_reveal_limit} media views reached; "
                "media stays blurred until tomorrow"
            )
        case = self._check_item(ref, item_id)
        with self.store.session() as s:
            s.add(CaseRevealRow(case_id=case.id, item_id=item_id, user_id=user_id))
            audit.record(
                s,
                actor=self.actor,
                action="case.reveal",
                object_type="case_item",
                object_id=item_id,
                details={"case_id": case.id},
            )
        return str(grants.make(item_id, "case", user_id))

    def media(self, ref: str | int, item_id: int, user_id: int, grant: str, *, grants: Any) -> bytes:
        from ohsc.cases.media import read_item
        from ohsc.errors import NotFoundError, PermissionDeniedError

        if not grants.check(grant, item_id, "case", user_id):
            raise PermissionDeniedError("reveal the item first")
        self._check_item(ref, item_id)
        data = read_item(self.store, self.settings, item_id)
        if data is None:
            raise NotFoundError(f"item {item_id}: no location can be read any more")
        return data

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
