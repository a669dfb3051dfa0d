"""A report draft from a confirmed review decision (the review page's "Start a report").

The draft's file is the reviewed content (a copy the report owns until it is filed). What the
review record says is carried over as it is, never assumed: ``viewed_by_human`` is whether anyone
viewed the unblurred media of the item (the reveal records), ``exif_viewed_by_human`` is unknown
(None) because the review pages never show EXIF data and the record does not say, and
``review_ref`` names the confirming decision. Original hashes are prefilled from the content.
One incident may gather several files: pass ``report_id`` to add to an open draft instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ohsc.errors import InvalidInputError, ReviewStateError
from ohsc.review.model import Choice, Status
from ohsc.review.previews import mime_type

if TYPE_CHECKING:
    from ohsc.reports.service import ReportService
    from ohsc.reports.service_base import DraftResult
    from ohsc.review.service import ReviewService

#: How a reported file names the review decision behind it.
REVIEW_REF_PREFIX = "review-decision-"


def review_ref(decision_id: int) -> str:
    return f"{REVIEW_REF_PREFIX}{decision_id}"


def draft_from_review(
    reports: ReportService, review: ReviewService, item_id: int, *, report_id: int | None = None
) -> DraftResult:
    """Start a draft from review item ``item_id`` (or add its file to draft ``report_id``)."""
    detail = review.detail(item_id)
    item = detail.item
    if item.status is not Status.DECIDED or item.decision != Choice.CONFIRM.value:
        raise ReviewStateError(f"review item {item_id} is not a confirmed match: only those are reported")
    confirming = [d for d in detail.decisions if d.decision == Choice.CONFIRM.value]
    if not confirming:
        raise ReviewStateError(f"review item {item_id} has no confirming decision")
    decision = confirming[-1]
    if not item.has_media:
        raise InvalidInputError(
            f"review item {item_id} holds no media (hash-only or purged): attach the file with "
            "`ohsc report draft` instead"
        )
    media = review.preview_source(item_id)
    matches = [m for m in detail.matches if m.get("kind") == "match"]
    if report_id is None:
        created = reports.create_draft(
            {"incident": {"content_kind": "known"}},
            sources=[{"type": "review_decision", "id": str(decision.id), "review_item_id": item_id}],
            matched_at=item.created_at,
        )
        report_id = created.report.id
    ext = media.media_format or "bin"
    reports.add_file(
        report_id,
        data=media.data,
        file_name=f"review-item-{item_id}.{ext}",
        media_type=mime_type(media.media_format, media.media_kind),
        viewed_by_human=detail.viewed_unblurred,
        exif_viewed_by_human=None,
        review_ref=review_ref(decision.id),
        matches=matches,
        matched_at=item.created_at,
    )
    return reports.check(report_id)
