"""Robust matching: find copies of a picture that crops, borders, caption bars, captions over the
picture, small rotations and mirroring hide from plain PDQ.

Two stages (docs/signals.md, "Robust matching"):

1. **Candidates** from PDQ-style hashes of several views: at index time the picture's content box
   (uniform borders, letterbox and pillarbox trimmed), centre crops and the picture less a fifth of
   each side; at query time the query's content box, its mirror image, the query less a caption
   bar, and the query turned back by a few small angles. Hash views are compared with a loose
   radius (:data:`CANDIDATE_RADIUS`) in a flat binary index.
2. **Verification** of every candidate with local features (OpenCV ORB) and a RANSAC similarity
   transform: a match needs :data:`MIN_INLIERS` geometrically consistent feature pairs. The answer
   says how it was found (``pdq-trimmed``, ``region`` or ``features``), with the inlier count and
   the region of the bank picture that the query covers.

Nothing here is used for banks that are not robust: their entries keep plain PDQ matching.
"""

from __future__ import annotations

from ohsc.errors import OhscError
from ohsc.robust.descriptor import Query, RobustDescriptor
from ohsc.robust.search import CANDIDATE_RADIUS, MIN_INLIERS, RobustHit, RobustIndex
from ohsc.signals.images import ImageSource

__all__ = [
    "CANDIDATE_RADIUS",
    "MIN_INLIERS",
    "Query",
    "RobustDescriptor",
    "RobustHit",
    "RobustIndex",
    "query_of",
]


def query_of(source: ImageSource, max_pixels: int) -> Query | None:
    """The picture as robust banks look for it, or None when it cannot be decoded (the caller's
    own hashing reports why)."""
    try:
        return Query.of_source(source, max_pixels)
    except OhscError:
        return None
