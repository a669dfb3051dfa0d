"""Robust matching: find copies of a picture that crops, borders, caption bars, captions over the
picture, small rotations and mirroring hide from plain PDQ.

Two stages (docs/signals.md, "Robust matching"):

1. **Candidates** from PDQ-style hashes of several views: at index time the picture's content box
   (uniform borders, letterbox and pillarbox trimmed), centre crops and the picture less a fifth of
   each side; at query time the query's content box, its mirror image, the query less a caption
   bar, and the query turned back by a few small angles. Hash views are compared with a loose
   radius (:data:`CANDIDATE_RADIUS`) in a flat binary index. When no view is within the
   threshold, the query's ORB features also look up bank pictures that share them (an inverted
   index of bit-sampled descriptor keys, :mod:`ohsc.robust.postings`).
2. **Verification** of every candidate with local features (OpenCV ORB) and a RANSAC similarity
   transform: a match needs :data:`MIN_INLIERS` geometrically consistent feature pairs. The answer
   says how it was found (``pdq-trimmed``, ``region`` or ``features``), with the inlier count and
   the region of the bank picture that the query covers.

Nothing here is used for banks that are not robust: their entries keep plain PDQ matching.
Modules: ``planes`` (decoding, content box), ``hashes`` (views), ``features`` (ORB, RANSAC),
``descriptor`` (what is kept and what a query computes: :func:`descriptor.query_of`),
``postings`` (feature keys), ``search`` (candidate index, two stages), ``tables`` and ``store``
(the store). Importing the package imports none of them (OpenCV loads only when a bank is
robust).
"""
