"""Opening images safely, and the pixel semantics of Meta's reference pipeline.

What happens to unusual images (the same in exact and fast mode, so the two stay comparable):

* **EXIF orientation** is ignored: the stored pixels are hashed, as python-threatexchange does.
  A photo whose camera wrote "rotate 90" is found with ``--dihedral`` matching.
* **Alpha** is ignored: the colour channels of transparent pixels are hashed as they are.
* **Palette (P) images** hash their palette indices, as the reference does (so a GIF and its
  JPEG conversion may not match); ``OHSC_PDQ_FORCE_RGB=1`` converts to RGB first instead.
* **CMYK** images hash their first three channels as if they were RGB (the reference's quirk);
  ``OHSC_PDQ_FORCE_RGB=1`` converts properly.
* **16-bit and 32-bit greyscale** (``I;16``, ``I``, ``F``) and ``LA``/``PA`` are converted to RGB
  first (the reference cannot take them directly).
* **1-bit** images hash as 0/1 values and come out with quality 0.
* **Animated** GIF/WebP/PNG: the first frame is hashed.
* Images under 5 pixels on a side get the all-zero hash with quality 0, like the reference.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from ohsc.errors import ImageDecodeError, ImageTooLargeError

ImageSource = bytes | Path | BinaryIO

_CONVERT_FIRST = {"LA", "La", "PA", "F", "I", "I;16", "I;16L", "I;16B", "I;16N", "I;32", "I;32B"}
JPEG_FORMATS = {"JPEG", "MPO"}


def open_image(source: ImageSource, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and refuse decompression bombs before any pixel is decoded."""
    fp: BinaryIO | Path = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fp)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageDecodeError("not a recognised image format") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageDecodeError(f"corrupt image header: {exc}") from exc
    width, height = im.size
    if width * height > max_pixels:
        im.close()
        raise ImageTooLargeError(
            f"image has {width}x{height} = {width * height} pixels, above the limit of {max_pixels}",
            detail={"width": width, "height": height, "limit": max_pixels},
        )
    if width <= 0 or height <= 0:
        raise ImageDecodeError("image has no pixels")
    return im


def load(im: Image.Image) -> None:
    """Decode the pixels now (the errors :func:`reference_array` would raise)."""
    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image refused as a decompression bomb: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError) as exc:
        raise ImageDecodeError(f"truncated or corrupt image: {exc}") from exc


def reference_array(im: Image.Image, force_rgb: bool = False) -> npt.NDArray[np.generic]:
    """The numpy array python-threatexchange hands to ``pdqhash`` (2-D, or 3-D with >= 3 channels)."""
    try:
        if (force_rgb and im.mode != "RGB") or im.mode in _CONVERT_FIRST:
            im = im.convert("RGB")
        arr = np.asarray(im)
        if arr.ndim == 3 and arr.shape[2] < 3:
            arr = np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image refused as a decompression bomb: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError) as exc:
        raise ImageDecodeError(f"truncated or corrupt image: {exc}") from exc
    if arr.dtype not in (np.uint8, np.bool_):
        raise ImageDecodeError(f"unsupported pixel type {arr.dtype} in mode {im.mode}")
    return arr


def luma_f32(arr: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """Luma as the reference computes it (0.299 R + 0.587 G + 0.114 B), in float32."""
    if arr.ndim == 2:
        return arr.astype(np.float32)
    a = arr[:, :, :3].astype(np.float32)
    luma: npt.NDArray[np.float32] = (
        a[:, :, 0] * np.float32(0.299) + a[:, :, 1] * np.float32(0.587) + a[:, :, 2] * np.float32(0.114)
    )
    return luma
