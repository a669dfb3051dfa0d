"""The review service: list, search, claim, view (blurred first), reveal, decide, undo, reopen.

Each part lives in its own module; :class:`ReviewService` is all of them together:

* :mod:`ohsc.review.reading`: lists, one item with its context and history, search
* :mod:`ohsc.review.claims`: claiming the next item or a given one
* :mod:`ohsc.review.viewing`: exposure counters, recorded reveals, media behind grants
* :mod:`ohsc.review.deciding`: decisions (with :mod:`ohsc.review.transitions`, the state
  machine, and :mod:`ohsc.review.bank_effects`, hashes added to banks in the same transaction)
* :mod:`ohsc.review.corrections`: undo within a window, reopen with a reason
* :mod:`ohsc.review.bulk`: the grid: many items claimed, revealed and decided together

Every decision, correction, search and reveal is an audit event; ``review.decided``,
``review.confirmed``, ``review.undone`` and ``review.reopened`` fire for hooks and webhooks.
"""

from __future__ import annotations

from ohsc.content.matchlog import match_record
from ohsc.review.bulk import ReviewBulk
from ohsc.review.claims import ReviewClaims
from ohsc.review.corrections import ReviewCorrections
from ohsc.review.deciding import ReviewDeciding
from ohsc.review.reading import ReviewReading
from ohsc.review.viewing import Media, ReviewViewing


class ReviewService(
    ReviewBulk, ReviewReading, ReviewClaims, ReviewViewing, ReviewDeciding, ReviewCorrections
):
    """Human review of matches: one object per process, shared by the web UI, the API and tests."""


__all__ = ["Media", "ReviewService", "match_record"]
