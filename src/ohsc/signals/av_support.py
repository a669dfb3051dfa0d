"""PyAV (FFmpeg's libraries from the PyPI wheels) is an optional dependency: ``ohsc[video]``."""

from __future__ import annotations

import logging
from functools import lru_cache
from types import ModuleType

from ohsc.errors import VideoSupportMissingError


@lru_cache(maxsize=1)
def require_av() -> ModuleType:
    """The ``av`` module, quiet; :class:`VideoSupportMissingError` when it is not installed."""
    try:
        import av
    except ImportError as exc:  # pragma: no cover - the test environment installs it
        raise VideoSupportMissingError("video hashing needs PyAV: pip install 'ohsc[video]'") from exc
    # FFmpeg prints to stderr by default; hostile files would flood the terminal.
    av.logging.set_level(av.logging.FATAL)
    logging.getLogger("libav").setLevel(logging.CRITICAL)
    return av


def video_available() -> bool:
    try:
        require_av()
    except VideoSupportMissingError:
        return False
    return True
