"""What a case gives the world: confirmed categories pushed into a bank (so they reach platforms
through exchanges), and a case report (HTML, and PDF through WeasyPrint when installed) with
counts, hash lists and who categorised what. Never pictures."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from ohsc.banks.model import EntryInput, EntrySource
from ohsc.cases.categories import CAID_LETTERS, Scheme
from ohsc.cases.model import Case, CaseStats
from ohsc.cases.models import CaseItemRow, CaseVoteRow
from ohsc.store.db import Store

_PAGE = 1000


def confirmed_items(store: Store, case_id: int, *, include_known: bool) -> Iterator[CaseItemRow]:
    """Items whose category analysts agreed on (and known ones, when asked), pertinent only."""
    after = 0
    sources = ("agreed", "known", "import") if include_known else ("agreed",)
    while True:
        with store.session() as s:
            rows = list(
                s.scalars(
                    select(CaseItemRow)
                    .where(
                        CaseItemRow.case_id == case_id,
                        CaseItemRow.id > after,
                        CaseItemRow.category_source.in_(sources),
                        CaseItemRow.category != "0",
                    )
                    .order_by(CaseItemRow.id)
                    .limit(_PAGE)
                )
            )
            for row in rows:
                s.expunge(row)
        if not rows:
            return
        yield from rows
        after = rows[-1].id


def bank_entries(case: Case, rows: Iterator[CaseItemRow]) -> Iterator[EntryInput]:
    for row in rows:
        labels = [f"case:{case.name}"[:200]]
        if case.scheme == "uk" and row.category in CAID_LETTERS:
            labels.append(f"caid:{CAID_LETTERS[row.category]}")
        for signal_type in ("md5", "sha1", "sha256", "pdq"):
            value = getattr(row, signal_type)
            if value:
                yield EntryInput(
                    signal_type=signal_type,
                    value=value,
                    category=f"vics:{row.category}",
                    labels=list(labels),
                    external_id=f"case-{case.id}-item-{row.id}",
                )


def entry_source() -> EntrySource:
    return EntrySource.CASE


# --- the report --------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:sans-serif;font-size:11pt;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;font-size:9pt}code{font-size:8pt}"
)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(
    store: Store, case: Case, stats: CaseStats, scheme: Scheme, generated_by: str, now: str
) -> str:
    """The case report: counts, per category and analyst, hash lists per category, and every
    analyst's categories. Identifiers and hashes only: no pictures, no file content."""
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Case {html.escape(case.name)}</title>"
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Case report: {html.escape(case.name)}</h1>",
        f"<p>{html.escape(scheme.title)} categories; {case.agreement} analyst(s) must agree. "
        f"Generated {html.escape(now)} by {html.escape(generated_by)}.</p>",
        "<h2>Counts</h2>",
        _table(
            [
                "files",
                "unique items",
                "stacks",
                "series",
                "known",
                "unknown",
                "categorised",
                "disputed",
                "errors",
            ],
            [
                [
                    stats.files,
                    stats.unique,
                    stats.stacks,
                    stats.series,
                    stats.known,
                    stats.unknown,
                    stats.categorised,
                    stats.disputed,
                    stats.errors,
                ]
            ],
        ),
        "<h2>Per category</h2>",
        _table(["category", "items"], [[k, v] for k, v in sorted(stats.by_category.items())]),
        "<h2>Per analyst</h2>",
        _table(["analyst", "items categorised"], [[k, v] for k, v in sorted(stats.by_analyst.items())]),
    ]
    with store.session() as s:
        for cat in scheme.categories:
            rows = s.execute(
                select(
                    CaseItemRow.id,
                    CaseItemRow.md5,
                    CaseItemRow.sha1,
                    CaseItemRow.sha256,
                    CaseItemRow.pdq,
                    CaseItemRow.category_source,
                )
                .where(CaseItemRow.case_id == case.id, CaseItemRow.category == cat.code)
                .order_by(CaseItemRow.id)
            ).all()
            parts.append(f"<h2>Hashes: {html.escape(cat.name)} ({len(rows)})</h2>")
            parts.append(_table(["item", "MD5", "SHA-1", "SHA-256", "PDQ", "how"], [list(r) for r in rows]))
        votes = s.execute(
            select(CaseVoteRow.item_id, CaseVoteRow.actor, CaseVoteRow.category, CaseVoteRow.at)
            .where(CaseVoteRow.case_id == case.id)
            .order_by(CaseVoteRow.item_id, CaseVoteRow.at)
        ).all()
        parts.append("<h2>Who categorised what</h2>")
        parts.append(
            _table(
                ["item", "analyst", "category", "at (UTC)"],
                [[i, a, scheme.label(c), at.strftime("%Y-%m-%d %H:%M:%S")] for i, a, c, at in votes],
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def html_to_pdf(document: str) -> bytes:
    """The report as PDF (WeasyPrint). Importing WeasyPrint sets Pillow's process-wide
    ``LOAD_TRUNCATED_IMAGES``, which would make every later truncated picture in this process
    decode as grey and hash as zeros instead of failing: the flag is put back as it was (the
    report holds no pictures, so WeasyPrint never needs it)."""
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
    except (ImportError, OSError):
        from ohsc.errors import ConfigError

        raise ConfigError(
            "PDF reports need WeasyPrint: pip install weasyprint (HTML reports work without)"
        ) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    pdf: bytes = HTML(string=document).write_pdf()
    return pdf
