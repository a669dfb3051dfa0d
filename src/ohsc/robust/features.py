"""Local features (OpenCV ORB) and their geometric verification (RANSAC similarity transform).

A candidate is confirmed when enough feature pairs agree on one rotation + scale + shift from the
query to the bank picture: what crops, borders, caption bars and small rotations do. Unrelated
pictures share at most a handful of such pairs (docs/benchmarks.md, "Robust matching").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ohsc.robust.planes import Box, Grey

#: Features kept per picture (the strongest by ORB's Harris score).
MAX_FEATURES = 400
#: Lowe's ratio test on the two nearest bank features of each query feature.
RATIO = 0.8
#: RANSAC reprojection tolerance in working-plane pixels.
REPROJECTION_PX = 4.0
#: A transform that scales by more than this (either way) is not a copy.
MAX_SCALE = 4.0

Points = npt.NDArray[np.float32]
Descriptors = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Features:
    points: Points  # (n, 2) x, y in working-plane pixels
    descriptors: Descriptors  # (n, 32)

    def __len__(self) -> int:
        return int(self.points.shape[0])


@dataclass(frozen=True, slots=True)
class Verification:
    inliers: int
    #: The part of the bank picture the query shows, as shares of its width and height
    #: (x0, y0, x1, y1).
    region: tuple[float, float, float, float]
    #: Rotation of the query relative to the bank picture, in degrees.
    rotation: float
    scale: float


_ORB: dict[int, cv2.ORB] = {}


def _orb(n: int) -> cv2.ORB:
    orb = _ORB.get(n)
    if orb is None:
        orb = _ORB[n] = cv2.ORB.create(nfeatures=n, scaleFactor=1.2, nlevels=8, fastThreshold=12)
    return orb


def extract(plane: Grey, n: int = MAX_FEATURES) -> Features:
    keypoints, descriptors = _orb(n).detectAndCompute(plane, None)
    if descriptors is None or not keypoints:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32).reshape(-1, 2)
    return Features(points, np.ascontiguousarray(descriptors, dtype=np.uint8))


_MATCHER = cv2.BFMatcher(cv2.NORM_HAMMING)


def verify(
    query: Features, query_box: Box, entry: Features, entry_size: tuple[int, int], min_inliers: int
) -> Verification | None:
    """The similarity transform from the query to the bank picture that ``min_inliers`` feature
    pairs agree on, or None. ``entry_size``: the bank picture's working plane (width, height)."""
    if len(query) < min_inliers or len(entry) < min_inliers:
        return None
    pairs = _MATCHER.knnMatch(query.descriptors, entry.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < min_inliers:
        return None
    src = query.points[[m.queryIdx for m in good]]
    dst = entry.points[[m.trainIdx for m in good]]
    found: tuple[Any, Any] = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX, maxIters=2000, confidence=0.995
    )
    matrix, mask = found
    if matrix is None:
        return None
    inliers = int(mask.sum())
    scale = math.hypot(float(matrix[0, 0]), float(matrix[1, 0]))
    if inliers < min_inliers or not 1 / MAX_SCALE <= scale <= MAX_SCALE:
        return None
    rotation = math.degrees(math.atan2(float(matrix[1, 0]), float(matrix[0, 0])))
    corners = np.array(
        [
            [query_box.x0, query_box.y0],
            [query_box.x1, query_box.y0],
            [query_box.x1, query_box.y1],
            [query_box.x0, query_box.y1],
        ],
        np.float32,
    )
    mapped = corners @ matrix[:, :2].T.astype(np.float32) + matrix[:, 2].astype(np.float32)
    w, h = entry_size
    x0, y0 = np.clip(mapped.min(axis=0) / (w, h), 0, 1)
    x1, y1 = np.clip(mapped.max(axis=0) / (w, h), 0, 1)
    region = (round(float(x0), 3), round(float(y0), 3), round(float(x1), 3), round(float(y1), 3))
    return Verification(inliers, region, round(rotation, 1), round(scale, 3))
