"""What a robust bank keeps of each picture, and what a query computes: view hashes and local
features, packed into bytes for the store (about 12 KB a picture at the default 400 features)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ohsc.errors import InvalidInputError, OhscError
from ohsc.robust import features as feat
from ohsc.robust import hashes, postings
from ohsc.robust.planes import Box, Grey, content_box, read_plane
from ohsc.signals.images import ImageSource

VERSION = 1
_HEADER = struct.Struct("<BHHHHHHH")  # version, width, height, box x0 y0 x1 y1, feature count
#: Feature coordinates are kept in 1/64 pixel.
_POINT_SCALE = 64


@dataclass(frozen=True, slots=True)
class RobustDescriptor:
    """The index-time description of a bank picture."""

    width: int
    height: int
    box: Box
    #: One row of 32 bytes per :data:`ohsc.robust.hashes.INDEX_VIEWS` entry.
    hashes: npt.NDArray[np.uint8]
    features: feat.Features

    @classmethod
    def of_plane(cls, plane: Grey) -> RobustDescriptor:
        box = content_box(plane)
        h, w = plane.shape
        return cls(w, h, box, hashes.index_hashes(plane, box), feat.extract(plane))

    @classmethod
    def of_source(cls, source: ImageSource, max_pixels: int) -> RobustDescriptor:
        return cls.of_plane(read_plane(source, max_pixels))

    def to_bytes(self) -> bytes:
        n = len(self.features)
        head = _HEADER.pack(VERSION, self.width, self.height, *self._box(), n)
        points = np.round(self.features.points * _POINT_SCALE).astype("<u2")
        return head + self.hashes.tobytes() + points.tobytes() + self.features.descriptors.tobytes()

    def _box(self) -> tuple[int, int, int, int]:
        return self.box.x0, self.box.y0, self.box.x1, self.box.y1

    @classmethod
    def from_bytes(cls, data: bytes) -> RobustDescriptor:
        try:
            version, w, h, x0, y0, x1, y1, n = _HEADER.unpack_from(data)
        except struct.error as exc:
            raise InvalidInputError("robust descriptor is truncated") from exc
        if version != VERSION:
            raise InvalidInputError(f"robust descriptor version {version} is not known")
        views = len(hashes.INDEX_VIEWS)
        at = _HEADER.size
        expected = at + views * hashes.HASH_BYTES + n * 4 + n * 32
        if len(data) != expected:
            raise InvalidInputError("robust descriptor has the wrong length")
        hash_rows = np.frombuffer(data, np.uint8, views * hashes.HASH_BYTES, at).reshape(views, -1)
        at += views * hashes.HASH_BYTES
        points = np.frombuffer(data, "<u2", n * 2, at).reshape(n, 2).astype(np.float32) / np.float32(
            _POINT_SCALE
        )
        at += n * 4
        descriptors = np.frombuffer(data, np.uint8, n * 32, at).reshape(n, 32)
        return cls(w, h, Box(x0, y0, x1, y1), hash_rows, feat.Features(points, descriptors))

    def keys(self) -> postings.Keys:
        """The keys under which the feature index files this picture's features."""
        return postings.keys(self.features.descriptors)

    def index_bytes(self) -> bytes:
        """What the candidate index loads (the store's ``views``): the view hashes, then the
        features' keys (little-endian uint32)."""
        return self.hashes.tobytes() + self.keys().astype("<u4").tobytes()

    @staticmethod
    def index_of(blob: bytes) -> tuple[npt.NDArray[np.uint8], postings.Keys | None]:
        """View hashes and features' keys of :meth:`index_bytes` (keys None for rows stored before
        the feature index existed: only their hashes)."""
        size = len(hashes.INDEX_VIEWS) * hashes.HASH_BYTES
        if len(blob) < size or (len(blob) - size) % 4:
            raise InvalidInputError("robust index row has the wrong length")
        rows = np.frombuffer(blob, np.uint8, size).reshape(len(hashes.INDEX_VIEWS), hashes.HASH_BYTES)
        if len(blob) == size:
            return rows, None
        return rows, np.frombuffer(blob, "<u4", offset=size).astype(np.uint32)

    @staticmethod
    def hashes_of(data: bytes) -> npt.NDArray[np.uint8]:
        """Just the view hashes of packed bytes (what the candidate index keeps in memory)."""
        views = len(hashes.INDEX_VIEWS)
        return np.frombuffer(data, np.uint8, views * hashes.HASH_BYTES, _HEADER.size).reshape(views, -1)


@dataclass(slots=True)
class Query:
    """A picture to look for: its plane, content box and view hashes; features on demand."""

    plane: Grey
    box: Box
    hashes: npt.NDArray[np.uint8]
    _features: dict[bool, feat.Features] = field(default_factory=dict)

    @classmethod
    def of_plane(cls, plane: Grey) -> Query:
        box = content_box(plane)
        return cls(plane, box, hashes.query_hashes(plane, box))

    @classmethod
    def of_source(cls, source: ImageSource, max_pixels: int) -> Query:
        return cls.of_plane(read_plane(source, max_pixels))

    def features(self, mirrored: bool = False) -> feat.Features:
        """ORB features of the plane (or of its mirror image), computed once."""
        got = self._features.get(mirrored)
        if got is None:
            plane = np.ascontiguousarray(self.plane[:, ::-1]) if mirrored else self.plane
            got = self._features[mirrored] = feat.extract(plane)
        return got

    def box_for(self, mirrored: bool) -> Box:
        if not mirrored:
            return self.box
        w = self.plane.shape[1]
        return Box(w - self.box.x1, self.box.y0, w - self.box.x0, self.box.y1)


def query_of(source: ImageSource, max_pixels: int) -> Query | None:
    """The picture as robust banks look for it, or None when it cannot be decoded (the caller's
    own hashing reports why)."""
    try:
        return Query.of_source(source, max_pixels)
    except OhscError:
        return None
