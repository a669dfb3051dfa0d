"""Human review: the queue, claims, blurred-first media, exposure limits, decisions."""

from ohsc.review.model import Choice, DecisionRecord, Exposure, ReviewDetail, Reviewer, ReviewItem, Status
from ohsc.review.queue import QueueFilter
from ohsc.review.service import ReviewService

__all__ = [
    "Choice",
    "DecisionRecord",
    "Exposure",
    "QueueFilter",
    "ReviewDetail",
    "ReviewItem",
    "ReviewService",
    "Reviewer",
    "Status",
]
